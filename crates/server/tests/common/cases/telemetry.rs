//! SDK telemetry aggregates: batches add up per (environment, flag,
//! variant, minute), events per (flag, variant, event) too, reads sum a
//! range in steps, and the prune removes old minutes only.

use chrono::TimeZone;
use switchyard_server::store::{TelemetryRecord, VariantCounts, VariantEvents};

use super::*;

fn record(minute: i64, instance: &str, evaluations: u64, errors: u64, purchases: u64) -> TelemetryRecord {
    let mut buckets = [0u64; 15];
    buckets[3] = 2;
    let counts =
        VariantCounts { evaluations, requests: 2, errors, latency_ms_sum: 12.0, latency_ms_sum_sq: 72.0, buckets };
    let event = |variant: &str, count: u64| VariantEvents {
        flag: "checkout".into(),
        variant: variant.into(),
        event: "purchase".into(),
        count,
        value_sum: 10.0 * count as f64,
    };
    TelemetryRecord {
        minute,
        sdk: "test/1".into(),
        instance: instance.into(),
        service: None,
        variants: vec![
            ("checkout".into(), "off".into(), VariantCounts { evaluations: 1, ..VariantCounts::default() }),
            ("checkout".into(), "on".into(), counts),
        ],
        unattributed: 1,
        events: vec![("purchase".into(), purchases + 1, 10.0 * (purchases + 1) as f64)],
        variant_events: [event("off", 1), event("on", purchases)].into_iter().filter(|e| e.count > 0).collect(),
        dropped: 0,
    }
}

pub async fn telemetry_adds_per_variant_and_minute_and_prunes(ctx: Ctx) {
    let store = ctx.store().await;
    setup(&store, &["checkout"]).await;
    let prod = store.get_environment("shop", "prod").await.unwrap().id;
    let dev = store.get_environment("shop", "dev").await.unwrap().id;
    let minute = Utc::now().timestamp().div_euclid(60) - 10;
    // Two instances in one minute add up; a later minute stays apart;
    // another environment is not counted.
    store.record_telemetry(prod, &record(minute, "pod-1", 5, 1, 2)).await.unwrap();
    store.record_telemetry(prod, &record(minute, "pod-2", 7, 0, 3)).await.unwrap();
    store.record_telemetry(prod, &record(minute + 2, "pod-1", 1, 2, 0)).await.unwrap();
    store.record_telemetry(dev, &record(minute, "pod-9", 100, 2, 50)).await.unwrap();

    let rows = store.telemetry_series(prod, "checkout", minute, minute + 4, 1).await.unwrap();
    let on: Vec<(i64, u64, u64, u64)> = rows
        .iter()
        .filter(|r| r.variant == "on")
        .map(|r| (r.step, r.counts.evaluations, r.counts.requests, r.counts.errors))
        .collect();
    assert_eq!(on, [(0, 12, 4, 1), (2, 1, 2, 2)]);
    let first = rows.iter().find(|r| r.variant == "on" && r.step == 0).unwrap();
    assert_eq!((first.counts.buckets[3], first.counts.latency_ms_sum), (4, 24.0));
    let coarse = store.telemetry_series(prod, "checkout", minute, minute + 4, 4).await.unwrap();
    let steps: Vec<(&str, i64, u64)> =
        coarse.iter().map(|r| (r.variant.as_str(), r.step, r.counts.evaluations)).collect();
    assert_eq!(steps, [("off", 0, 3), ("on", 0, 13)]);

    let events = store.telemetry_variant_events(prod, "checkout", minute, minute + 4).await.unwrap();
    let got: Vec<(&str, &str, u64, f64)> =
        events.iter().map(|e| (e.variant.as_str(), e.event.as_str(), e.count, e.value_sum)).collect();
    assert_eq!(got, [("off", "purchase", 3, 30.0), ("on", "purchase", 5, 50.0)]);
    assert!(events.iter().all(|e| e.flag == "checkout"));
    let later = store.telemetry_variant_events(prod, "checkout", minute + 1, minute + 4).await.unwrap();
    assert_eq!(later.iter().map(|e| e.count).collect::<Vec<_>>(), [1], "only the later minute's `off` event");
    assert!(store.telemetry_variant_events(prod, "search", minute, minute + 4).await.unwrap().is_empty());
    // Per minute, for the release guard.
    let per_minute = store.telemetry_event_minutes(prod, "checkout", "purchase", minute, minute + 4).await.unwrap();
    let got: Vec<(i64, &str, u64)> =
        per_minute.iter().map(|(m, e)| (m - minute, e.variant.as_str(), e.count)).collect();
    assert_eq!(got, [(0, "off", 2), (0, "on", 5), (2, "off", 1)]);
    assert!(store.telemetry_event_minutes(prod, "checkout", "other", minute, minute + 4).await.unwrap().is_empty());

    // Pruning before minute + 1 removes the first minute only.
    let before = Utc.timestamp_opt((minute + 1) * 60, 0).unwrap();
    assert!(store.prune_telemetry(before).await.unwrap() >= 4);
    let left = store.telemetry_variant_events(prod, "checkout", minute, minute + 4).await.unwrap();
    assert_eq!(left.iter().map(|e| (e.variant.as_str(), e.count)).collect::<Vec<_>>(), [("off", 1)]);
    let rows = store.telemetry_series(prod, "checkout", minute, minute + 4, 1).await.unwrap();
    assert!(rows.iter().all(|r| r.step == 2), "{rows:?}");
}
