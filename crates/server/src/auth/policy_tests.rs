//! Unit tests of the policy table (a file of its own: `policy.rs` holds the table).

// The whole file is test-only (`#[cfg(test)] mod tests` in `policy.rs`).
#[cfg(test)]
use super::*;

#[test]
fn role_matrix() {
    let table = [
        (Role::Viewer, [true, false, false, false]),
        (Role::Responder, [true, true, false, false]),
        (Role::Editor, [true, true, true, false]),
        (Role::Admin, [true, true, true, true]),
    ];
    for (role, expected) in table {
        let got = [Read, Kill, Edit, Admin].map(|p| p.allowed_for(role));
        assert_eq!(got, expected, "{role:?}");
    }
}

#[test]
fn every_api_route_has_a_coherent_rule() {
    let (_, openapi) = crate::http::api();
    check_routes(&openapi).unwrap();
    let unique: std::collections::HashSet<_> = POLICY.iter().map(|r| (r.method, r.path)).collect();
    assert_eq!(unique.len(), POLICY.len(), "duplicate rules");
}
