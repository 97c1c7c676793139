use super::*;
use crate::observe::StatusBoard;
use crate::observe::latency::LatencyRing;
use crate::store::{Store, StoreOptions};

const NOW: i64 = 1_800_000_000_000;

fn instance_doc() -> InstanceDoc {
    InstanceDoc {
        role: "secondary",
        flavour: "cloud",
        reachable: true,
        auth: true,
        last_auth_ok: rfc3339(NOW - 4_000),
        last_poll: rfc3339(NOW - 4_000),
        last_webhook: None,
        poll_lag_seconds: Some(4.0),
        outbox_depth: Some(0),
        dead_letters: Some(0),
        paused: false,
        paused_since: None,
        paused_until: None,
        rate_limit: None,
        last_error: None,
        last_error_at: None,
    }
}

/// A page of one healthy primary `hub`, a secondary `emea` (edited by the
/// test) and a flow `<f>` between them.
fn data(emea: InstanceDoc) -> PageData {
    let store = Store::open_in_memory(StoreOptions::default()).unwrap();
    let board = StatusBoard::new();
    board.set_flow_links("<f>", 1);
    board.record_sync("<f>", NOW - 12_000);
    let mut status = snapshot(&board, &store, NOW);
    status.instances.insert("hub".into(), InstanceDoc { role: "primary", ..instance_doc() });
    status.instances.insert("emea".into(), emea);
    status.ready = true;
    let ring = LatencyRing::new();
    ring.record(NOW - 30_000, 0.8);
    PageData {
        status,
        now_ms: NOW,
        readiness: BTreeMap::new(),
        poll_intervals: [("hub".to_string(), Duration::from_secs(30))].into(),
        flow_sites: [("<f>".to_string(), vec!["hub".to_string(), "emea".to_string()])].into(),
        latency: ring.last_hour(NOW),
        writes: vec![AuditLine {
            at_ms: NOW - 12_000,
            flow: "<f>".into(),
            instance: "hub".into(),
            op: "create".into(),
            key: "PORT-<1>".into(),
            outcome: None,
        }],
        dead: Vec::new(),
    }
}

#[test]
fn a_healthy_world_is_green_with_a_badge_per_instance_and_flow() {
    let html = render(&data(instance_doc()));
    assert!(
        html.contains("<header class=\"banner green\" id=\"overall\" data-health=\"green\"><h1>jirafed: healthy</h1>")
    );
    assert!(html.contains("ready: 2 instances reachable and authenticated, 1 flow in sync"), "{html}");
    for attr in ["data-instance=\"hub\" data-health=\"green\"", "data-instance=\"emea\" data-health=\"green\""] {
        assert!(html.contains(attr), "{attr}: {html}");
    }
    assert!(html.contains("data-flow=\"&lt;f&gt;\" data-health=\"green\""), "{html}");
    assert!(html.contains("in sync, last write 12 s ago"));
    assert!(
        html.contains("<time datetime=\"2027-01-15T07:59:56.000Z\" title=\"2027-01-15T07:59:56.000Z\">4 s ago</time>")
    );
    assert!(html.contains("data-writes=\"1\""), "the chart shows the minute's write");
    assert!(html.contains("<td>PORT-&lt;1&gt;</td>"));
}

#[test]
fn the_page_stands_alone_refreshes_and_fits_a_phone() {
    let html = render(&data(instance_doc()));
    assert!(html.contains("<meta http-equiv=\"refresh\" content=\"10\">"));
    assert!(html.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"));
    for external in ["<script", "<link", "<img", "src=", "url(", "http://", "https://", "@import"] {
        assert!(!html.contains(external), "{external} in the page");
    }
}

#[test]
fn a_failing_site_turns_its_card_its_flows_and_the_page_red() {
    let mut emea = instance_doc();
    emea.reachable = false;
    emea.last_error = Some("connection refused".into());
    emea.last_error_at = rfc3339(NOW - 65_000);
    emea.dead_letters = Some(1);
    let mut d = data(emea);
    d.readiness.insert("instances.emea".into(), "authentication failed".into());
    d.status.ready = false;
    d.dead = vec![DeadRow {
        id: 7,
        at_ms: NOW - 180_000,
        instance: "emea".into(),
        flow: Some("<f>".into()),
        op: Some("edit"),
        target: "EMEA-1".into(),
        error: "Field 'customfield_10010' cannot be set. It is not on the appropriate screen, or unknown.".into(),
    }];
    let html = render(&d);
    assert!(html.contains("data-instance=\"emea\" data-health=\"red\""), "{html}");
    assert!(html.contains("data-instance=\"hub\" data-health=\"green\""));
    assert!(html.contains("data-flow=\"&lt;f&gt;\" data-health=\"red\""));
    assert!(html.contains(
        "data-health=\"red\"><h1>jirafed: failing</h1><ul><li>not ready, instances.emea: authentication failed</li>"
    ));
    assert!(html.contains("<li>instance emea: unreachable: connection refused</li>"), "{html}");
    assert!(html.contains("connection refused (<time"), "the last error with its age");
    assert!(html.contains(">65 s ago</time>)"));
    assert!(html.contains("<span class=\"bad\">not ready</span>"));
    assert!(html.contains("<tr data-dead-letter=\"7\"><td>7</td><td><time"));
    assert!(html.contains(
        "<td class=\"msg\">Field &#39;customfield_10010&#39; cannot be set. It is not on the appropriate screen, or unknown.</td>"
    ));
}

#[test]
fn every_value_is_escaped() {
    let mut emea = instance_doc();
    emea.last_error = Some("<script>alert('x')</script> & \"more\"".into());
    emea.last_error_at = rfc3339(NOW - 1_000);
    let mut d = data(emea);
    d.dead = vec![DeadRow {
        id: 1,
        at_ms: NOW,
        instance: "<i>".into(),
        flow: Some("<f>".into()),
        op: None,
        target: "\"><b>".into(),
        error: "<img src=x onerror=alert(1)>".into(),
    }];
    let html = render(&d);
    assert!(!html.contains("<script>") && !html.contains("<img") && !html.contains("<b>"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;more&quot;"));
    assert!(html.contains("<td>&quot;&gt;&lt;b&gt;</td>"));
    assert!(html.contains("<h3>&lt;f&gt; <span"));
}
