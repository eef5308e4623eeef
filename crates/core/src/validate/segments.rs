//! Validation of a snapshot's segments, including reference cycles.
//!
//! Owns: segment checks and reference-cycle detection. Must not touch: flag
//! checks, compilation.

use std::collections::HashMap;

use super::{ValidationError, ValidationErrors, check_key, validate_clause};
use crate::model::{Operator, Segment};
use crate::segment::MAX_SEGMENT_DEPTH;

/// Validates all segments of a snapshot together (they may reference each
/// other). Paths look like `segments[3].rules[0].clauses[1].values[0]`,
/// indexed by position in `segments`.
pub fn validate_segments(segments: &[Segment]) -> Result<(), ValidationErrors> {
    let mut errs = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, s) in segments.iter().enumerate() {
        let path = format!("segments[{i}].key");
        check_key(&s.key, &path, &mut errs);
        if index.insert(&s.key, i).is_some() {
            errs.push(ValidationError::new(path, "duplicate_key", format!("segment key `{}` is used twice", s.key)));
        }
    }
    let exists = |k: &str| index.contains_key(k);
    for (i, s) in segments.iter().enumerate() {
        for (r, rule) in s.rules.iter().enumerate() {
            for (c, clause) in rule.clauses.iter().enumerate() {
                validate_clause(clause, &format!("segments[{i}].rules[{r}].clauses[{c}]"), &exists, &mut errs);
            }
        }
    }
    Graph::new(segments, &index).check(&mut errs);
    ValidationErrors(errs).into_result()
}

/// An `in_segment` reference: target segment and the path of the operand.
struct Edge {
    to: usize,
    path: String,
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    Unvisited,
    InProgress,
    /// Longest reference chain starting here, counting this segment.
    Done(u32),
}

/// The reference graph between segments.
struct Graph<'s> {
    segments: &'s [Segment],
    edges: Vec<Vec<Edge>>,
    state: Vec<State>,
}

impl<'s> Graph<'s> {
    fn new(segments: &'s [Segment], index: &HashMap<&str, usize>) -> Self {
        let edges = segments.iter().enumerate().map(|(i, s)| edges_of(i, s, index)).collect();
        Graph { segments, edges, state: vec![State::Unvisited; segments.len()] }
    }

    /// Reports cycles (at the operand that closes them) and chains deeper
    /// than [`MAX_SEGMENT_DEPTH`].
    fn check(mut self, errs: &mut Vec<ValidationError>) {
        for i in 0..self.segments.len() {
            self.visit(i, errs);
        }
        for (i, state) in self.state.iter().enumerate() {
            if matches!(state, State::Done(h) if *h > MAX_SEGMENT_DEPTH) {
                errs.push(ValidationError::new(
                    format!("segments[{i}]"),
                    "segment_too_deep",
                    format!(
                        "segment `{}` nests in_segment references more than {MAX_SEGMENT_DEPTH} levels deep",
                        self.segments[i].key
                    ),
                ));
            }
        }
    }

    /// Iterative depth-first search from `root` computing heights (an
    /// explicit stack, so a long chain cannot overflow the thread's stack).
    fn visit(&mut self, root: usize, errs: &mut Vec<ValidationError>) {
        if self.state[root] != State::Unvisited {
            return;
        }
        // (segment, next edge to follow, height so far)
        let mut stack = vec![(root, 0usize, 1u32)];
        self.state[root] = State::InProgress;
        while let Some(top) = stack.last_mut() {
            let (node, next) = (top.0, top.1);
            let Some(edge) = self.edges[node].get(next) else {
                let height = top.2;
                stack.pop();
                self.state[node] = State::Done(height);
                if let Some(parent) = stack.last_mut() {
                    parent.2 = parent.2.max(height.saturating_add(1));
                }
                continue;
            };
            top.1 += 1;
            match self.state[edge.to] {
                State::InProgress => errs.push(self.cycle_error(node, edge)),
                State::Done(h) => top.2 = top.2.max(h.saturating_add(1)),
                State::Unvisited => {
                    self.state[edge.to] = State::InProgress;
                    stack.push((edge.to, 0, 1));
                }
            }
        }
    }

    fn cycle_error(&self, from: usize, edge: &Edge) -> ValidationError {
        let (from_key, to_key) = (&self.segments[from].key, &self.segments[edge.to].key);
        ValidationError::new(
            edge.path.clone(),
            "segment_cycle",
            format!(
                "segment `{from_key}` refers to `{to_key}`, which (directly or through others) refers back to `{from_key}`"
            ),
        )
    }
}

fn edges_of(i: usize, s: &Segment, index: &HashMap<&str, usize>) -> Vec<Edge> {
    let mut out = Vec::new();
    for (r, rule) in s.rules.iter().enumerate() {
        for (c, clause) in rule.clauses.iter().enumerate() {
            if clause.op != Operator::InSegment {
                continue;
            }
            for (v, value) in clause.values.iter().enumerate() {
                if let Some(&to) = value.as_str().and_then(|k| index.get(k)) {
                    let path = format!("segments[{i}].rules[{r}].clauses[{c}].values[{v}]");
                    out.push(Edge { to, path });
                }
            }
        }
    }
    out
}
