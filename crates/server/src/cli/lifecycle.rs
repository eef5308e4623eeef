//! Lifecycle commands over the API (admin token): `switchyard flags
//! archive` (a dry run showing, per environment, when the flag was last
//! evaluated and who evaluates it; archived only with `--confirm` and a
//! reason), `flags unarchive` (restore from the archive) and `flags delete`
//! (archived flags only, with a reason). `flags list --archived` lists the
//! archive.

use anyhow::Context as _;
use serde_json::Value;

use super::remote::Client;

impl Client {
    /// `flags archive FLAG [--confirm --reason R]`.
    pub async fn archive(&self, flag: &str, confirm: bool, reason: Option<&str>) -> anyhow::Result<i32> {
        let project = self.project()?;
        if !confirm {
            let preview = self.api.archive_flag(project, flag, None).await?;
            self.print(&preview, archive_preview);
            return Ok(0);
        }
        let reason = reason.context("--confirm needs --reason: say why the flag goes")?;
        let done = self.api.archive_flag(project, flag, Some(reason)).await?;
        self.print(&done, |d| {
            let at = d["flag"]["archived_at"].as_str().unwrap_or("?");
            if d["archived"] == true {
                format!("archived {flag} at {at}: it is in no SDK snapshot any more\n")
            } else {
                format!("{flag} was already archived (at {at}); nothing changed\n")
            }
        });
        Ok(0)
    }

    /// `flags unarchive FLAG [--reason R]`.
    pub async fn unarchive(&self, flag: &str, reason: Option<&str>) -> anyhow::Result<i32> {
        let def = self.api.unarchive_flag(self.project()?, flag, reason).await?;
        self.print(&def, |_| format!("restored {flag} from the archive: back in every SDK snapshot as it was\n"));
        Ok(0)
    }

    /// `flags delete FLAG --reason R`.
    pub async fn delete_flag(&self, flag: &str, reason: &str) -> anyhow::Result<i32> {
        self.api.delete_flag(self.project()?, flag, reason).await?;
        self.print(&Value::Null, |_| format!("deleted {flag} (its audit history stays)\n"));
        Ok(0)
    }
}

/// The human dry run: one line per environment.
pub fn archive_preview(preview: &Value) -> String {
    let flag = preview["flag"]["key"].as_str().unwrap_or("?");
    let mut out = format!("DRY RUN (nothing changed): archiving {flag} removes it from these SDK snapshots:\n");
    out.push_str(&format!(
        "{:<16} {:<26} {:>9} {:>10} {}\n",
        "ENVIRONMENT", "LAST EVALUATED", "CONNECTED", "EVALUATING", "NEEDED BY"
    ));
    let mut blocked = false;
    for env in preview["environments"].as_array().into_iter().flatten() {
        let dependents: Vec<&str> =
            env["dependents"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        blocked |= !dependents.is_empty();
        out.push_str(&format!(
            "{:<16} {:<26} {:>9} {:>10} {}\n",
            env["environment"].as_str().unwrap_or("?"),
            env["last_evaluated"].as_str().unwrap_or("never (no telemetry)"),
            env["connected"],
            env["evaluating"],
            if dependents.is_empty() { "-".to_string() } else { dependents.join(",") },
        ));
    }
    if blocked {
        out.push_str("refused while other flags need it as a prerequisite: change or archive those first\n");
    } else {
        out.push_str(&format!("to archive: switchyard flags archive {flag} --confirm --reason \"…\"\n"));
    }
    out
}
