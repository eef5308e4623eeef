//! Hostile text at the store boundary: the same strings fed to the same
//! store methods must give the same outcome on every backend — refused
//! (`StoreError::InvalidText`, naming the argument) before any SQL runs, or
//! stored and read back byte for byte. Postgres cannot hold U+0000, SQLite
//! can: without the store's own check a kill whose reason held one was
//! written on one backend and failed (a 500) on the other.
//!
//! Lone surrogates (`"\ud800"` in JSON) cannot be expressed as a Rust
//! string at all; the HTTP edge refuses them as malformed JSON (see
//! `tests/text.rs`).

use super::*;

/// `(label, string, refused with this code, or accepted)`.
fn hostile() -> Vec<(&'static str, String, Option<&'static str>)> {
    // Not compressible: a long run of distinct code points.
    let long: String = (0..100_000u32).filter_map(|i| char::from_u32(0x4E00 + i % 20_000)).collect();
    vec![
        ("nul", "kill\0switch".into(), Some("nul_character")),
        ("only nul", "\0".into(), Some("nul_character")),
        ("escape sequence", "\u{1b}[31mred\u{1b}[0m".into(), Some("control_character")),
        ("bell", "ding\u{7}".into(), Some("control_character")),
        ("delete", "del\u{7f}".into(), Some("control_character")),
        ("c1 next line", "next\u{85}line".into(), Some("control_character")),
        ("c1 csi", "\u{9b}2J".into(), Some("control_character")),
        ("tab, newline, return", "a\tb\nc\r\nd".into(), None),
        ("rtl override", "invoice\u{202E}fdp.exe\u{202C}".into(), None),
        ("bidi isolates", "\u{2067}שלום\u{2069} world".into(), None),
        ("emoji", "🔥 kill 👩‍🚒🏳️‍🌈".into(), None),
        ("zero width", "a\u{200B}b\u{FEFF}c".into(), None),
        ("very long", long, None),
    ]
}

/// The outcome of a store call, comparable across backends.
fn outcome<T>(result: Result<T, StoreError>) -> String {
    match result {
        Ok(_) => "ok".into(),
        Err(StoreError::InvalidText(e)) => format!("invalid_text {} {}", e.path, e.refusal.code()),
        Err(StoreError::NotFound { what, .. }) => format!("not_found {what}"),
        Err(StoreError::Validation(v)) => format!("validation {:?}", v.0.iter().map(|e| &e.path).collect::<Vec<_>>()),
        Err(other) => format!("unexpected error: {other}"),
    }
}

pub async fn hostile_text_is_refused_or_kept_alike(ctx: Ctx) {
    let store = ctx.store().await;
    let alice = user("alice");
    setup(&store, &[]).await;
    for (i, (label, s, refused)) in hostile().into_iter().enumerate() {
        let flag = format!("f{i}");
        store.create_flag(&alice, "shop", string_flag(&flag, &["a", "b"])).await.expect("flag");
        // Audit free text has limits of its own (reasons 1,000 characters,
        // incident ids 128), alike on both backends: the very long string
        // is refused there, kept everywhere else.
        let too_long = |path: &str| match path {
            "reason" => s.chars().count() > switchyard_server::text::MAX_REASON,
            "incident" => s.chars().count() > switchyard_server::text::MAX_INCIDENT,
            _ => false,
        };
        let expect = |path: &str| match refused {
            Some(code) => format!("invalid_text {path} {code}"),
            None if too_long(path) => format!("validation [{path:?}]"),
            None => "ok".into(),
        };

        // A kill: the reason (and the incident id, in another kill below).
        let kill =
            KillRequest { flags: vec![flag.clone()], reason: s.clone(), incident: None, panic: false, detail: None };
        let got = store.kill_flags(&alice, "shop", "prod", kill).await;
        if refused.is_none() && !too_long("reason") {
            let killed = got.as_ref().expect("kill").value[0].config.kill.clone().expect("killed");
            assert_eq!(killed.reason, s, "{label}: kill round trip");
            let q = AuditQuery { flag: Some(flag.clone()), limit: Some(1), ..AuditQuery::default() };
            let event = store.list_audit("shop", &q).await.unwrap().items.remove(0);
            assert_eq!(event.reason.as_deref(), Some(s.as_str()), "{label}: audit round trip");
        } else {
            let (_, config) = config(&store, "prod", &flag).await;
            assert!(config.kill.is_none(), "{label}: a refused kill wrote nothing");
        }
        assert_eq!(outcome(got), expect("reason"), "{label}: kill");
        let kill = KillRequest {
            flags: vec![flag.clone()],
            reason: "r".into(),
            incident: Some(s.clone()),
            panic: false,
            detail: None,
        };
        let got = store.kill_flags(&alice, "shop", "dev", kill).await;
        if refused.is_none() && !too_long("incident") {
            let killed = got.as_ref().expect("kill").value[0].config.kill.clone().expect("killed");
            assert_eq!(killed.incident, Some(s.clone()), "{label}: incident round trip");
        }
        assert_eq!(outcome(got), expect("incident"), "{label}: kill incident");

        // A restore with that reason, a toggle, a flag and a project description.
        let restore = store.restore_flags(&alice, "shop", "prod", std::slice::from_ref(&flag), s.clone(), None).await;
        // (Its kill was refused as too long: restoring a live flag writes nothing.)
        let want = if too_long("reason") { "ok".to_string() } else { expect("reason") };
        assert_eq!(outcome(restore), want, "{label}: restore");
        let toggle = store.toggle_flag(&alice, "shop", "dev", &flag, true, Some(s.clone())).await;
        assert_eq!(outcome(toggle), expect("reason"), "{label}: toggle");
        let patch = FlagPatch { description: Some(s.clone()), ..FlagPatch::default() };
        let updated = store.update_flag(&alice, "shop", &flag, patch, None).await;
        if refused.is_none() {
            assert_eq!(updated.as_ref().unwrap().description.as_deref(), Some(s.as_str()), "{label}: description");
        }
        assert_eq!(outcome(updated), expect("description"), "{label}: flag description");
        let project = NewProject { key: format!("p{i}"), name: Some(s.clone()), description: None, environments: None };
        let created = store.create_project(&alice, project).await;
        if refused.is_none() {
            assert_eq!(created.as_ref().unwrap().name, s, "{label}: project name");
        }
        assert_eq!(outcome(created), expect("name"), "{label}: project name");

        // A rule value and a segment member.
        let (v, mut cfg) = config(&store, "dev", &flag).await;
        cfg.rules = vec![rule("r1", "country", &s, "a")];
        let put = store.put_flag_config(&alice, "shop", "dev", &flag, cfg, v, None).await;
        assert_eq!(outcome(put), expect("rules[0].clauses[0].values[0]"), "{label}: rule value");
        let created = store.create_segment(&alice, "shop", segment(&format!("s{i}"), &[s.as_str()])).await;
        assert_eq!(outcome(created), expect("included[0]"), "{label}: segment");

        // Lookups by a hostile key: not found, or refused — never a database error.
        let lookup = |what: &'static str| match refused {
            Some(code) => format!("invalid_text {what} {code}"),
            None => "not_found project".into(),
        };
        assert_eq!(outcome(store.get_project(&s).await), lookup("project"), "{label}: project lookup");
        let user = store.user_by_name(&s).await.map(|u| u.map(|_| ()));
        let want = if let Some(code) = refused { format!("invalid_text username {code}") } else { "ok".into() };
        assert_eq!(outcome(user), want, "{label}: user lookup");
    }
}
