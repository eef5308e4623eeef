//! The prerequisite graph of one environment, checked when a flag's
//! prerequisites are written: the named flags and variants exist, no cycle,
//! no chain deeper than [`MAX_PREREQUISITE_DEPTH`], no flag needing more
//! than [`MAX_PREREQUISITE_EVALUATIONS`] prerequisite evaluations. The
//! engine copes with any graph (missing → off, too deep → off); writers
//! refuse these so that no flag is silently off for a reason nobody chose.
//!
//! Owns: graph checks. Must not touch: one flag's checks (`flag`), evaluation.

use std::collections::HashMap;

use super::{ValidationError, ValidationErrors};
use crate::model::Prerequisite;
use crate::prereq::{MAX_PREREQUISITE_DEPTH, MAX_PREREQUISITE_EVALUATIONS};

/// The codes of errors that concern the whole graph.
pub const GRAPH_CODES: [&str; 3] = ["prerequisite_cycle", "prerequisite_too_deep", "prerequisite_too_wide"];

/// One flag of the graph: its variant keys and its prerequisites.
#[derive(Debug, Clone, Copy)]
pub struct PrerequisiteNode<'a> {
    /// The flag's variant keys.
    pub variants: &'a [&'a str],
    /// Its prerequisites (for the flag being written: the new ones).
    pub prerequisites: &'a [Prerequisite],
}

/// Checks the graph of every flag of an environment (`nodes`, by key) after
/// a write of `changed`'s prerequisites. Paths are relative to `changed`'s
/// configuration: `prerequisites[1].flag` (`unknown_flag`),
/// `prerequisites[1].variant` (`unknown_variant`), `prerequisites`
/// (`prerequisite_cycle`, `prerequisite_too_deep`, `prerequisite_too_wide`:
/// the message names the loop or the flag). The last three are
/// [`GRAPH_CODES`]: conflicts with the state of other flags rather than
/// bad input.
///
/// ```
/// use std::collections::HashMap;
/// use switchyard_core::Prerequisite;
/// use switchyard_core::validate::{PrerequisiteNode, validate_prerequisite_graph};
/// let needs = |f: &str| vec![Prerequisite { flag: f.into(), variant: "on".into() }];
/// let (a, b) = (needs("b"), needs("a"));
/// let v = ["on", "off"];
/// let nodes = HashMap::from([
///     ("a", PrerequisiteNode { variants: &v, prerequisites: &a }),
///     ("b", PrerequisiteNode { variants: &v, prerequisites: &b }),
/// ]);
/// let e = validate_prerequisite_graph(&nodes, "a").unwrap_err();
/// assert_eq!(e.0[0].code, "prerequisite_cycle");
/// assert_eq!(e.0[0].message, "prerequisites loop: a -> b -> a");
/// ```
pub fn validate_prerequisite_graph(
    nodes: &HashMap<&str, PrerequisiteNode<'_>>,
    changed: &str,
) -> Result<(), ValidationErrors> {
    let mut errs = Vec::new();
    if let Some(node) = nodes.get(changed) {
        for (i, p) in node.prerequisites.iter().enumerate() {
            match nodes.get(p.flag.as_str()) {
                None => errs.push(ValidationError::new(
                    format!("prerequisites[{i}].flag"),
                    "unknown_flag",
                    format!("no flag `{}`", p.flag),
                )),
                Some(n) if !n.variants.contains(&p.variant.as_str()) => errs.push(ValidationError::new(
                    format!("prerequisites[{i}].variant"),
                    "unknown_variant",
                    format!("flag `{}` has no variant `{}`", p.flag, p.variant),
                )),
                Some(_) => {}
            }
        }
    }
    let mut walk = Walk { nodes, done: HashMap::new(), stack: Vec::new() };
    let mut keys: Vec<&str> = nodes.keys().copied().collect();
    keys.sort_unstable();
    // The flag written first, so that a cycle is reported from it.
    keys.sort_by_key(|k| *k != changed);
    for key in keys {
        match walk.visit(key) {
            Err(e) => {
                errs.push(e);
                break;
            }
            Ok(Cost { depth, .. }) if depth > MAX_PREREQUISITE_DEPTH => {
                errs.push(ValidationError::new(
                    "prerequisites",
                    "prerequisite_too_deep",
                    format!(
                        "flag `{key}` would need a chain of {depth} prerequisites (at most {MAX_PREREQUISITE_DEPTH})"
                    ),
                ));
                break;
            }
            Ok(Cost { work, .. }) if work > MAX_PREREQUISITE_EVALUATIONS => {
                errs.push(ValidationError::new(
                    "prerequisites",
                    "prerequisite_too_wide",
                    format!(
                        "flag `{key}` would need {work} prerequisite evaluations (at most {MAX_PREREQUISITE_EVALUATIONS})"
                    ),
                ));
                break;
            }
            Ok(_) => {}
        }
    }
    ValidationErrors(errs).into_result()
}

/// The longest chain below a flag and the evaluations its prerequisites need.
#[derive(Debug, Clone, Copy)]
struct Cost {
    depth: usize,
    work: usize,
}

/// A depth-first walk with memo; `stack` is the path being explored.
struct Walk<'n, 'a> {
    nodes: &'n HashMap<&'n str, PrerequisiteNode<'a>>,
    done: HashMap<&'n str, Cost>,
    stack: Vec<&'n str>,
}

impl<'n> Walk<'n, '_> {
    fn visit(&mut self, key: &'n str) -> Result<Cost, ValidationError> {
        let nodes = self.nodes;
        if let Some(cost) = self.done.get(key) {
            return Ok(*cost);
        }
        if let Some(at) = self.stack.iter().position(|k| *k == key) {
            let mut path = self.stack[at..].to_vec();
            path.push(key);
            return Err(ValidationError::new(
                "prerequisites",
                "prerequisite_cycle",
                format!("prerequisites loop: {}", path.join(" -> ")),
            ));
        }
        let Some((&key, node)) = nodes.get_key_value(key) else { return Ok(Cost { depth: 0, work: 0 }) };
        self.stack.push(key);
        let mut cost = Cost { depth: 0, work: 0 };
        for p in node.prerequisites {
            // A missing flag is reported for the flag written; elsewhere it costs nothing.
            let Some((&next, _)) = nodes.get_key_value(p.flag.as_str()) else { continue };
            let below = self.visit(next)?;
            cost.depth = cost.depth.max(below.depth.saturating_add(1));
            cost.work = cost.work.saturating_add(below.work.saturating_add(1));
        }
        self.stack.pop();
        self.done.insert(key, cost);
        Ok(cost)
    }
}
