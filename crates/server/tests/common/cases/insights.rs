//! Flag insights on seeded telemetry: each batch's evaluations are
//! attributed to its instance and service (and pruned by age), and the
//! stale-flag report (`ops::stale`, on the store alone) finds exactly the
//! removal candidates: one variant for the whole look-back (temporary flags
//! only, and only with telemetry that old), not evaluated (in an
//! environment that sent telemetry, for a flag older than the look-back),
//! past its expiry; the look-back and the environment narrow it.

use chrono::{DateTime, Duration, Utc};
use switchyard_server::ops::stale::{StaleReason, counts, report};
use switchyard_server::store::{FlagPatch, TelemetryRecord, VariantCounts};

use super::*;

/// A batch of `instance` (of `service`) at `minute`: `flag` served `variant` `n` times.
fn batch(minute: i64, instance: &str, service: Option<&str>, evaluations: &[(&str, &str, u64)]) -> TelemetryRecord {
    TelemetryRecord {
        minute,
        sdk: "test/1".into(),
        instance: instance.into(),
        service: service.map(Into::into),
        variants: evaluations
            .iter()
            .map(|(f, v, n)| ((*f).into(), (*v).into(), VariantCounts { evaluations: *n, ..VariantCounts::default() }))
            .collect(),
        ..TelemetryRecord::default()
    }
}

pub async fn evaluations_are_attributed_to_instances_and_services(ctx: Ctx) {
    let store = ctx.store().await;
    setup(&store, &["checkout", "search"]).await;
    let prod = store.get_environment("shop", "prod").await.unwrap().id;
    let minute = Utc::now().timestamp().div_euclid(60);
    let before = Utc::now().timestamp_millis();
    store
        .record_telemetry(prod, &batch(minute, "w1", Some("web"), &[("checkout", "off", 2), ("checkout", "on", 3)]))
        .await
        .unwrap();
    store.record_telemetry(prod, &batch(minute, "w1", Some("web"), &[("checkout", "on", 1)])).await.unwrap();
    store.record_telemetry(prod, &batch(minute - 1, "w2", Some("web"), &[("checkout", "on", 4)])).await.unwrap();
    store
        .record_telemetry(prod, &batch(minute, "a1", None, &[("checkout", "on", 7), ("search", "on", 0)]))
        .await
        .unwrap();
    let instances = store.flag_instances(prod, "checkout", before).await.unwrap();
    let rows: Vec<(&str, Option<&str>, u64)> =
        instances.iter().map(|i| (i.instance.as_str(), i.service.as_deref(), i.evaluations)).collect();
    assert_eq!(rows, [("a1", None, 7), ("w1", Some("web"), 6), ("w2", Some("web"), 4)]);
    assert!(instances.iter().all(|i| i.last_batch_at >= before));
    assert!(store.flag_instances(prod, "search", before).await.unwrap().is_empty(), "0 evaluations attribute nothing");
    assert!(store.flag_instances(prod, "checkout", Utc::now().timestamp_millis() + 60_000).await.unwrap().is_empty());
    let services = store.flag_services(prod, "checkout", minute - 5, minute + 1).await.unwrap();
    let rows: Vec<(Option<&str>, u64)> = services.iter().map(|s| (s.service.as_deref(), s.evaluations)).collect();
    assert_eq!(rows, [(None, 7), (Some("web"), 10)]);
    let services = store.flag_services(prod, "checkout", minute, minute + 1).await.unwrap();
    assert_eq!(services.iter().map(|s| s.evaluations).sum::<u64>(), 13, "w2's minute is outside");
    let totals = store.variant_totals(prod, Some("checkout"), 0, minute + 1).await.unwrap();
    let rows: Vec<(&str, u64, i64, i64)> =
        totals.iter().map(|v| (v.variant.as_str(), v.evaluations, v.first_minute, v.last_minute)).collect();
    assert_eq!(rows, [("off", 2, minute, minute), ("on", 15, minute - 1, minute)]);
    assert_eq!(store.variant_totals(prod, None, 0, minute + 1).await.unwrap().len(), 2, "search's 0 is no row");
    let reporting = store.reporting_instances(prod, before).await.unwrap();
    assert_eq!(reporting, ["a1", "w1", "w2"]);
    // The prune removes attribution with the rest.
    store.prune_telemetry(Utc::now() + Duration::minutes(2)).await.unwrap();
    assert!(store.flag_instances(prod, "checkout", 0).await.unwrap().is_empty());
    assert!(store.flag_services(prod, "checkout", 0, minute + 1).await.unwrap().is_empty());
}

fn minutes_ago(now: DateTime<Utc>, d: Duration) -> i64 {
    (now - d).timestamp().div_euclid(60)
}

pub async fn stale_flags_are_found_on_seeded_telemetry(ctx: Ctx) {
    let store = ctx.store().await;
    setup(&store, &["a", "b", "c", "d", "e", "f", "g"]).await;
    let admin = user("admin");
    let now = Utc::now();
    let forty_days_ago = (now - Duration::days(40)).timestamp_millis();
    ctx.raw_execute(&format!("UPDATE flags SET created_at = {forty_days_ago}")).await.unwrap();
    ctx.raw_execute("UPDATE flags SET temporary = FALSE WHERE key = 'd'").await.unwrap();
    let past = FlagPatch { expires_at: Some(Some(now - Duration::hours(1))), ..FlagPatch::default() };
    store.update_flag(&admin, "shop", "f", past, None).await.unwrap();
    let future = FlagPatch { expires_at: Some(Some(now + Duration::days(1))), ..FlagPatch::default() };
    store.update_flag(&admin, "shop", "g", future, None).await.unwrap();
    assert!(store.get_flag("shop", "g").await.unwrap().expires_at.is_some());
    let prod = store.get_environment("shop", "prod").await.unwrap().id;
    let at = |d: Duration| minutes_ago(now, d);
    let seeded: [(i64, &str, &str, u64); 11] = [
        (at(Duration::days(30) - Duration::minutes(10)), "a", "on", 5), // one variant for 30 days
        (at(Duration::days(10)), "a", "on", 6),
        (at(Duration::hours(1)), "a", "on", 7),
        (at(Duration::days(29)), "b", "on", 1), // two variants
        (at(Duration::days(2)), "b", "off", 1),
        (at(Duration::days(5)), "c", "on", 3), // one variant, but only for 5 days
        (at(Duration::hours(2)), "c", "on", 3),
        (at(Duration::days(31)), "d", "on", 9), // one variant, permanent
        (at(Duration::hours(3)), "d", "on", 9),
        (at(Duration::days(40)), "e", "on", 2), // not evaluated for 40 days
        (at(Duration::hours(1)), "f", "on", 1), // expired, still evaluated (two variants)
    ];
    for (i, (minute, flag, variant, n)) in seeded.into_iter().enumerate() {
        store
            .record_telemetry(prod, &batch(minute, &format!("pod-{i}"), Some("svc"), &[(flag, variant, n)]))
            .await
            .unwrap();
    }
    store
        .record_telemetry(prod, &batch(at(Duration::hours(1)), "pod-x", None, &[("f", "off", 1), ("g", "on", 1)]))
        .await
        .unwrap();

    let found = report(&store, "shop", 30, None).await.unwrap();
    let reasons: Vec<(&str, &StaleReason)> =
        found.flags.iter().flat_map(|f| f.reasons.iter().map(move |r| (f.flag.as_str(), r))).collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    let a = StaleReason::SingleVariant { environment: "prod".into(), variant: "on".into(), evaluations: 18 };
    assert_eq!(reasons[0], ("a", &a));
    match reasons[1] {
        ("e", StaleReason::NotEvaluated { environment, last_evaluated: Some(last) }) => {
            assert_eq!(environment, "prod");
            assert_eq!(last.timestamp().div_euclid(60), at(Duration::days(40)));
        }
        other => panic!("e: {other:?}"),
    }
    assert!(matches!(reasons[2], ("f", StaleReason::Expired { .. })), "{reasons:?}");
    assert!(found.flags.iter().all(|f| f.flag != "g"), "g expires tomorrow");
    assert_eq!((found.days, found.flags[0].temporary), (30, true));

    // A longer look-back than a's and e's telemetry: only the expiry is left.
    let longer = report(&store, "shop", 45, None).await.unwrap();
    assert_eq!(longer.flags.iter().map(|f| f.flag.as_str()).collect::<Vec<_>>(), ["f"]);
    // dev sent no telemetry: nobody can say its flags are not evaluated.
    let dev = report(&store, "shop", 30, Some("dev")).await.unwrap();
    assert_eq!(dev.flags.iter().map(|f| f.flag.as_str()).collect::<Vec<_>>(), ["f"]);
    assert!(report(&store, "shop", 0, None).await.is_err());
    assert!(report(&store, "shop", 30, Some("nope")).await.is_err());
    let counts = counts(&store, 30).await.unwrap();
    let counts: Vec<(&str, usize)> = counts.iter().map(|(_, reason, n)| (*reason, *n)).collect();
    assert_eq!(counts, [("expired", 1), ("single_variant", 1), ("not_evaluated", 1)]);
}
