//! Unit tests of [`super`]: the receipts registry.

use super::*;

#[test]
fn counts_connected_and_applied() {
    let r = Registry::default();
    r.broadcast(5);
    r.connect("a");
    r.connect("b");
    r.ack("a", 5, Duration::ZERO);
    let receipt = r.receipt(5);
    assert_eq!((receipt.connected, receipt.applied, receipt.pending), (2, 1, 1));
    r.ack("b", 6, Duration::ZERO);
    assert!(r.receipt(5).complete());
    r.disconnect("b");
    assert_eq!(r.receipt(6).connected, 1);
    r.ack("ghost", 9, Duration::ZERO);
    assert_eq!(r.receipt(9).connected, 1);
}

#[test]
fn roster_lists_streams_with_identity_and_lag() {
    let r = Registry::default();
    r.broadcast(1);
    r.broadcast(2);
    let who = Identity { service: Some("checkout".into()), service_version: Some("1.2".into()), sdk: None };
    r.connect_as("a", who.clone(), Transport::Sse);
    r.connect_as("o", Identity::default(), Transport::Ofrep);
    r.ack("a", 2, Duration::ZERO);
    r.ack("o", 1, Duration::ZERO);
    r.pollers.polled("p", Identity::default(), 2);
    r.pollers.polled("a", Identity::default(), 2);
    let mut rows = r.roster("rep", 2);
    rows.sort_by(|x, y| x.instance.cmp(&y.instance));
    let got: Vec<_> = rows.iter().map(|row| (row.instance.as_str(), row.transport, row.revision)).collect();
    assert_eq!(got, [("a", Transport::Sse, 2), ("o", Transport::Ofrep, 1), ("p", Transport::Poll, 2)]);
    assert_eq!(rows[0].identity, who);
    assert_eq!(rows[0].lag_ms, Some(0));
    assert!(rows[1].lag_ms.is_some());
    assert!(r.lag_ms(0, 2).is_some());
    // A revision broadcast before the times kept: unknown.
    let fresh = Registry::default();
    fresh.broadcast(9);
    assert_eq!(fresh.lag_ms(3, 9), None);
}

#[tokio::test]
async fn wait_returns_on_ack_or_timeout() {
    let r = std::sync::Arc::new(Registry::default());
    r.broadcast(1);
    r.connect("a");
    let timed_out = r.wait(1, Duration::from_millis(20)).await;
    assert_eq!(timed_out.pending, 1);
    let r2 = r.clone();
    let waiter = tokio::spawn(async move { r2.wait(1, Duration::from_secs(5)).await });
    tokio::task::yield_now().await;
    r.ack("a", 1, Duration::ZERO);
    assert!(waiter.await.unwrap().complete());
}
