//! Checking a plan before it is stored: stages, guards, variants. Every
//! refusal is a 422 with the field's path and a stable code.
//!
//! Pure: no store, no IO.

use switchyard_core::{FlagKind, ValidationError, ValidationErrors};

use crate::store::{FlagDefinition, ReleaseGuards, ReleaseStage};

/// At most this many stages.
pub const MAX_STAGES: usize = 20;
/// At most this long per stage (30 days), in seconds.
pub const MAX_STAGE_SECONDS: u64 = 30 * 24 * 3600;
/// At most this minimum sample per stage.
pub const MAX_SAMPLE: u64 = 1_000_000_000;

struct Errors(Vec<ValidationError>);

impl Errors {
    fn push(&mut self, path: String, code: &'static str, message: impl Into<String>) {
        self.0.push(ValidationError { path, code, message: message.into() });
    }
}

/// Checks stages (under `path`, e.g. `stages`) and guards.
pub fn plan_shape(stages: &[ReleaseStage], guards: &ReleaseGuards) -> Result<(), ValidationErrors> {
    let mut errors = Errors(Vec::new());
    if stages.is_empty() || stages.len() > MAX_STAGES {
        errors.push("stages".into(), "stage_count", format!("1 to {MAX_STAGES} stages"));
    }
    let mut last = 0.0;
    for (i, stage) in stages.iter().enumerate() {
        let p = stage.percent;
        let path = format!("stages[{i}].percent");
        if !(0.001..=100.0).contains(&p) {
            errors.push(path, "out_of_range", "a percentage from 0.001 to 100");
        } else if ((p * 1000.0).round() - p * 1000.0).abs() > 1e-6 {
            errors.push(path, "too_precise", "at most 3 decimals");
        } else if p <= last {
            errors.push(path, "not_increasing", "each stage must give the treatment more than the one before");
        } else {
            last = p;
        }
        if stage.min_duration_seconds > MAX_STAGE_SECONDS {
            let path = format!("stages[{i}].min_duration_seconds");
            errors.push(path, "out_of_range", format!("at most {MAX_STAGE_SECONDS} seconds"));
        }
        if stage.min_sample > MAX_SAMPLE {
            errors.push(format!("stages[{i}].min_sample"), "out_of_range", format!("at most {MAX_SAMPLE}"));
        }
    }
    if !guards.alpha.is_finite() || guards.alpha <= 0.0 || guards.alpha > 0.2 {
        errors.push("guards.alpha".into(), "out_of_range", "alpha above 0 and at most 0.2");
    }
    if guards.event.as_deref().is_some_and(|e| e.trim().is_empty() || e.len() > 200) {
        errors.push("guards.event".into(), "invalid", "an event name of 1 to 200 characters");
    }
    if errors.0.is_empty() { Ok(()) } else { Err(ValidationErrors(errors.0)) }
}

/// The control and treatment variants: given, or `off`/`on` for boolean
/// flags; both variants of the flag and different.
pub fn variants(
    flag: &FlagDefinition,
    control: Option<String>,
    treatment: Option<String>,
) -> Result<(String, String), ValidationErrors> {
    let boolean = flag.kind == FlagKind::Boolean;
    let mut errors = Errors(Vec::new());
    let mut pick = |given: Option<String>, default: &str, path: &str| -> String {
        let chosen = given.or_else(|| boolean.then(|| default.to_string())).unwrap_or_default();
        if chosen.is_empty() {
            errors.push(path.into(), "required", format!("the {path} variant is required for non-boolean flags"));
        } else if !flag.variants.iter().any(|v| v.key == chosen) {
            errors.push(path.into(), "unknown_variant", format!("flag `{}` has no variant `{chosen}`", flag.key));
        }
        chosen
    };
    let control = pick(control, "off", "control");
    let treatment = pick(treatment, "on", "treatment");
    if errors.0.is_empty() && control == treatment {
        errors.push("treatment".into(), "same_as_control", "the treatment must differ from the control");
    }
    if errors.0.is_empty() { Ok((control, treatment)) } else { Err(ValidationErrors(errors.0)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(percent: f64) -> ReleaseStage {
        ReleaseStage { percent, min_duration_seconds: 0, min_sample: 0 }
    }

    #[test]
    fn stages_must_increase_within_range() {
        let guards = ReleaseGuards::default();
        assert!(plan_shape(&[stage(1.0), stage(5.0), stage(100.0)], &guards).is_ok());
        let codes = |stages: &[ReleaseStage]| -> Vec<(String, &'static str)> {
            plan_shape(stages, &guards).unwrap_err().0.into_iter().map(|e| (e.path, e.code)).collect()
        };
        assert_eq!(codes(&[]), vec![("stages".into(), "stage_count")]);
        assert_eq!(codes(&[stage(5.0), stage(5.0)]), vec![("stages[1].percent".into(), "not_increasing")]);
        assert_eq!(codes(&[stage(0.0)]), vec![("stages[0].percent".into(), "out_of_range")]);
        assert_eq!(codes(&[stage(f64::NAN)]), vec![("stages[0].percent".into(), "out_of_range")]);
        assert_eq!(codes(&[stage(1.0001)]), vec![("stages[0].percent".into(), "too_precise")]);
        assert_eq!(codes(&[stage(1e-300)]), vec![("stages[0].percent".into(), "out_of_range")]);
        assert_eq!(codes(&[stage(101.0)]), vec![("stages[0].percent".into(), "out_of_range")]);
        let bad_alpha = ReleaseGuards { alpha: 0.5, ..ReleaseGuards::default() };
        assert_eq!(plan_shape(&[stage(1.0)], &bad_alpha).unwrap_err().0[0].path, "guards.alpha");
    }
}
