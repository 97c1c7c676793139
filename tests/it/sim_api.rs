//! The simulator behaves like Jira: auth and permissions, validation,
//! workflow, links, comments, properties, search and JQL over HTTP.

use serde_json::{Value, json};

use super::support::Sim;

#[tokio::test]
async fn auth_and_permissions_answer_like_jira() {
    let s = Sim::start().await;
    let hub = s.base("hub");
    let http = reqwest::Client::new();
    let bad = http
        .get(format!("{hub}/rest/api/3/myself"))
        .basic_auth("sync-bot@example.com", Some("nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["errorMessages"][0], "Client must be authenticated to access this resource.");
    assert_eq!(http.get(format!("{hub}/rest/api/3/myself")).send().await.unwrap().status(), 401);
    let apac = s.base("apac");
    let r = http.get(format!("{apac}/rest/api/2/myself")).bearer_auth("sim-token").send().await.unwrap();
    assert_eq!(r.status(), 401, "a cloud token is no PAT");
    let r = http
        .get(format!("{apac}/rest/api/2/myself"))
        .basic_auth("sync-bot", Some("sim-password"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "DC takes user + password too");
    let me: Value = r.json().await.unwrap();
    assert_eq!(me["name"], "sync-bot");
    assert_eq!(me["timeZone"], "Australia/Sydney");

    // carol may browse but not write.
    let r = s.call_as("carol", "hub", "POST", "/rest/api/3/issue", Some(&json!({"fields": {"summary": "x"}}))).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body["errorMessages"][0].as_str().unwrap().contains("permission"));
    let key = s.create("hub", "PORT", "readable", json!({})).await;
    let r = s.call_as("carol", "hub", "GET", &format!("/rest/api/3/issue/{key}"), None).await;
    assert_eq!(r.status, 200);
    let r = s
        .call_as("carol", "hub", "PUT", &format!("/rest/api/3/issue/{key}"), Some(&json!({"fields": {"summary": "y"}})))
        .await;
    assert_eq!(r.status, 403);
    let r = s
        .call_as("carol", "hub", "GET", "/rest/api/3/mypermissions?permissions=EDIT_ISSUES,BROWSE_PROJECTS", None)
        .await;
    assert_eq!(r.body["permissions"]["EDIT_ISSUES"]["havePermission"], false);
    assert_eq!(r.body["permissions"]["BROWSE_PROJECTS"]["havePermission"], true);
    let r = s.get("hub", "/rest/api/3/mypermissions").await;
    assert_eq!(r.status, 400, "Cloud requires the permissions parameter");
    let r = s.get("apac", "/rest/api/2/mypermissions").await;
    assert_eq!(r.status, 200, "DC lists them all");
    assert!(r.body["permissions"].as_object().unwrap().len() >= 6);
}

#[tokio::test]
async fn create_validates_fields_like_jira() {
    let s = Sim::start().await;
    let post = |body: Value| {
        let s = &s;
        async move { s.call("hub", "POST", "/rest/api/3/issue", Some(&body)).await }
    };
    let r = post(json!({"fields": {"project": {"key": "PORT"}, "issuetype": {"name": "Story"}}})).await;
    assert_eq!(
        (r.status, r.body["errors"]["summary"].as_str()),
        (400, Some("You must specify a summary of the issue."))
    );
    let r = post(json!({"fields": {"project": {"key": "NOPE"}, "issuetype": {"name": "Story"}, "summary": "x"}})).await;
    assert!(r.body["errors"]["project"].is_string(), "{}", r.body);
    let base = json!({"project": {"key": "PORT"}, "issuetype": {"name": "Story"}, "summary": "x"});
    let with = |k: &str, v: Value| {
        let mut f = base.clone();
        f[k] = v;
        json!({"fields": f})
    };
    let cases = [
        ("customfield_99999", json!(1), "cannot be set. It is not on the appropriate screen, or unknown."),
        ("customfield_10020", json!({"value": "Nope"}), "Option value 'Nope' is not valid"),
        ("customfield_10016", json!("five"), "must be a number"),
        ("labels", json!(["has space"]), "contains spaces"),
        ("description", json!("wiki text on v3"), "Atlassian Document"),
        ("priority", json!({"name": "Urgent"}), "Priority name 'Urgent' is not valid"),
        ("duedate", json!("2024-13-45"), "Error parsing date string"),
        ("assignee", json!({"accountId": "nobody"}), "does not exist"),
    ];
    for (field, value, needle) in cases {
        let r = post(with(field, value)).await;
        assert_eq!(r.status, 400, "{field}: {}", r.body);
        let msg = r.body["errors"][field].as_str().unwrap_or_default();
        assert!(msg.contains(needle), "{field}: {msg:?} lacks {needle:?}");
    }
    let r =
        post(json!({"fields": {"project": {"key": "PORT"}, "issuetype": {"name": "Sub-task"}, "summary": "orphan"}}))
            .await;
    assert!(r.body["errors"]["parent"].is_string(), "sub-tasks need a parent: {}", r.body);

    let adf = json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Bold", "marks": [{"type": "strong"}]}]}]});
    let r = post(with("description", adf)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let key = r.body["key"].as_str().unwrap().to_string();
    let v3 = s.get("hub", &format!("/rest/api/3/issue/{key}?fields=description")).await;
    assert_eq!(v3.body["fields"]["description"]["type"], "doc", "v3 gives ADF");
    let v2 = s.get("hub", &format!("/rest/api/2/issue/{key}?fields=description")).await;
    assert!(v2.body["fields"]["description"].is_string(), "v2 gives wiki markup: {}", v2.body);
}

#[tokio::test]
async fn the_workflow_allows_only_its_transitions() {
    let s = Sim::start().await;
    let key = s.create("apac", "APAC", "flow", json!({})).await;
    let path = format!("/rest/api/2/issue/{key}/transitions");
    let list = s.get("apac", &path).await;
    let names: Vec<&str> =
        list.body["transitions"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Start Progress"]);
    let go = |id: &str, fields: Value| json!({"transition": {"id": id}, "fields": fields});
    let r = s.call("apac", "POST", &path, Some(&go("31", json!({})))).await;
    assert_eq!(r.status, 400, "Done is not reachable from To Do");
    assert!(r.body["errorMessages"][0].as_str().unwrap().contains("not valid for this issue"));
    for id in ["11", "21"] {
        assert_eq!(s.call("apac", "POST", &path, Some(&go(id, json!({})))).await.status, 204);
    }
    let with_fields = s.get("apac", &format!("{path}?expand=transitions.fields")).await;
    let done = with_fields.body["transitions"].as_array().unwrap().iter().find(|t| t["id"] == "31").cloned().unwrap();
    assert_eq!(done["fields"]["resolution"]["required"], true);
    let r = s.call("apac", "POST", &path, Some(&go("31", json!({})))).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["errors"]["resolution"], "Resolution is required.");
    let r = s.call("apac", "POST", &path, Some(&go("31", json!({"resolution": {"name": "Done"}})))).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let issue = s.get("apac", &format!("/rest/api/2/issue/{key}?expand=changelog")).await.body;
    assert_eq!(issue["fields"]["status"]["name"], "Done");
    assert_eq!(issue["fields"]["resolution"]["name"], "Done");
    let items: Vec<&Value> = issue["changelog"]["histories"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|h| h["items"].as_array().unwrap())
        .collect();
    assert_eq!(items.iter().filter(|i| i["field"] == "status").count(), 3);
    assert_eq!(s.call("apac", "POST", &path, Some(&go("71", json!({})))).await.status, 204);
    let issue = s.get("apac", &format!("/rest/api/2/issue/{key}")).await.body;
    assert_eq!(issue["fields"]["status"]["name"], "To Do");
    assert!(issue["fields"]["resolution"].is_null(), "reopening clears the resolution");
}

#[tokio::test]
async fn edits_take_update_verbs_and_bump_updated() {
    let s = Sim::start().await;
    let key = s.create("emea", "EMEA", "verbs", json!({"labels": ["a", "b"]})).await;
    let path = format!("/rest/api/3/issue/{key}");
    let before = s.get("emea", &path).await.body["fields"]["updated"].clone();
    let body = json!({"update": {"labels": [{"add": "c"}, {"remove": "a"}], "summary": [{"set": "renamed"}]}});
    let r = s.call("emea", "PUT", &path, Some(&body)).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let after = s.get("emea", &path).await.body;
    assert_eq!(after["fields"]["labels"], json!(["b", "c"]));
    assert_eq!(after["fields"]["summary"], "renamed");
    assert_ne!(after["fields"]["updated"], before);
    let both = json!({"fields": {"summary": "x"}, "update": {"summary": [{"set": "y"}]}});
    assert_eq!(s.call("emea", "PUT", &path, Some(&both)).await.status, 400);
    let status = json!({"fields": {"status": {"name": "Done"}}});
    let r = s.call("emea", "PUT", &path, Some(&status)).await;
    assert_eq!(r.status, 400, "status moves only by transitions");
    let r = s.call("emea", "PUT", "/rest/api/3/issue/EMEA-999", Some(&json!({"fields": {}}))).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["errorMessages"][0], "Issue does not exist or you do not have permission to see it.");
}

#[tokio::test]
async fn links_remote_links_comments_and_properties() {
    let s = Sim::start().await;
    let a = s.create("hub", "PORT", "blocker", json!({})).await;
    let b = s.create("hub", "PORT", "blocked", json!({})).await;
    let link = json!({"type": {"name": "Blocks"}, "inwardIssue": {"key": a}, "outwardIssue": {"key": b}});
    let r = s.call("hub", "POST", "/rest/api/3/issueLink", Some(&link)).await;
    assert_eq!(r.status, 201);
    let links =
        s.get("hub", &format!("/rest/api/3/issue/{a}?fields=issuelinks")).await.body["fields"]["issuelinks"].clone();
    assert_eq!(
        links[0]["outwardIssue"]["key"],
        b.as_str(),
        "the inwardIssue of the POST is the source: {a} blocks {b}"
    );
    assert_eq!(links[0]["type"]["outward"], "blocks");
    let id = links[0]["id"].as_str().unwrap().to_string();
    let back = s.get("hub", &format!("/rest/api/3/issue/{b}?fields=issuelinks")).await.body;
    assert_eq!(back["fields"]["issuelinks"][0]["inwardIssue"]["key"], a.as_str());
    assert_eq!(s.get("hub", &format!("/rest/api/3/issueLink/{id}")).await.status, 200);
    assert_eq!(s.call("hub", "DELETE", &format!("/rest/api/3/issueLink/{id}"), None).await.status, 204);
    assert_eq!(s.get("hub", &format!("/rest/api/3/issueLink/{id}")).await.status, 404);

    let remote =
        |title: &str| json!({"globalId": "jirafed:emea:EMEA-1", "object": {"url": "http://x/EMEA-1", "title": title}});
    let path = format!("/rest/api/3/issue/{a}/remotelink");
    assert_eq!(s.call("hub", "POST", &path, Some(&remote("one"))).await.status, 201);
    assert_eq!(s.call("hub", "POST", &path, Some(&remote("two"))).await.status, 200, "upsert by globalId");
    let list = s.get("hub", &path).await.body;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["object"]["title"], "two");
    let del = format!("{path}?globalId=jirafed:emea:EMEA-1");
    assert_eq!(s.call("hub", "DELETE", &del, None).await.status, 204);
    assert_eq!(s.get("hub", &path).await.body, json!([]));

    let cpath = format!("/rest/api/2/issue/{a}/comment");
    let r = s.call("hub", "POST", &cpath, Some(&json!({"body": "first *comment*"}))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let cid = r.body["id"].as_str().unwrap().to_string();
    let r = s.call("hub", "PUT", &format!("{cpath}/{cid}"), Some(&json!({"body": "edited"}))).await;
    assert_eq!(r.status, 200);
    assert_eq!(s.get("hub", &cpath).await.body["total"], 1);
    assert_eq!(s.call("hub", "DELETE", &format!("{cpath}/{cid}"), None).await.status, 204);
    assert_eq!(s.get("hub", &cpath).await.body["total"], 0);

    let ppath = format!("/rest/api/3/issue/{a}/properties/jirafed.origin");
    assert_eq!(s.call("hub", "PUT", &ppath, Some(&json!({"flow": "x"}))).await.status, 201);
    assert_eq!(s.call("hub", "PUT", &ppath, Some(&json!({"flow": "y"}))).await.status, 200);
    assert_eq!(s.get("hub", &ppath).await.body["value"]["flow"], "y");
    assert_eq!(s.call("hub", "DELETE", &ppath, None).await.status, 204);
    assert_eq!(s.get("hub", &ppath).await.status, 404);
}

/// A create sets entity properties in the same request, on both flavours;
/// a malformed list is refused with the field named.
#[tokio::test]
async fn a_create_sets_properties_in_the_same_request() {
    let s = Sim::start().await;
    for (site, project, api) in [("hub", "PORT", 3), ("apac", "APAC", 2)] {
        let fields = json!({"project": {"key": project}, "issuetype": {"name": "Story"}, "summary": "with a mark"});
        let body = json!({"fields": fields, "properties": [{"key": "jirafed.origin", "value": {"mark": "m-1"}}]});
        let r = s.call(site, "POST", &format!("/rest/api/{api}/issue"), Some(&body)).await;
        assert_eq!(r.status, 201, "{site}: {}", r.body);
        let key = r.body["key"].as_str().expect("key").to_string();
        let prop = s.get(site, &format!("/rest/api/{api}/issue/{key}/properties/jirafed.origin")).await;
        assert_eq!(prop.body["value"]["mark"], "m-1", "{site}: {}", prop.body);

        let bad = json!({"fields": fields, "properties": [{"value": 1}]});
        let r = s.call(site, "POST", &format!("/rest/api/{api}/issue"), Some(&bad)).await;
        assert_eq!(r.status, 400, "{site}: {}", r.body);
        assert!(r.body["errors"]["properties"].as_str().is_some_and(|m| m.contains("key")), "{}", r.body);
    }
}

#[tokio::test]
async fn searches_page_per_flavour() {
    let s = Sim::start().await;
    for n in 0..7 {
        s.create("hub", "PORT", &format!("cloud {n}"), json!({"labels": ["paged"]})).await;
        s.create("apac", "APAC", &format!("dc {n}"), json!({"labels": ["paged"]})).await;
    }
    // Cloud: nextPageToken, no total, fields default to id only.
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut body = json!({"jql": "labels = paged ORDER BY key ASC", "maxResults": 3, "fields": ["summary"]});
        if let Some(t) = &token {
            body["nextPageToken"] = json!(t);
        }
        let page = s.call("hub", "POST", "/rest/api/3/search/jql", Some(&body)).await.body;
        assert!(page.get("total").is_none(), "{page}");
        keys.extend(page["issues"].as_array().unwrap().iter().map(|i| i["key"].as_str().unwrap().to_string()));
        match page["nextPageToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => {
                assert_eq!(page["isLast"], true);
                break;
            }
        }
    }
    assert_eq!(keys, (1..=7).map(|n| format!("PORT-{n}")).collect::<Vec<_>>());
    let ids = s.get("hub", "/rest/api/3/search/jql?jql=labels%3Dpaged").await.body;
    assert_eq!(ids["issues"][0].as_object().map(|o| o.len()), Some(1), "ids only by default: {ids}");
    // Data Center: startAt / maxResults / total.
    let page = s
        .get("apac", "/rest/api/2/search?jql=labels%3Dpaged%20ORDER%20BY%20key%20DESC&startAt=5&maxResults=5")
        .await
        .body;
    assert_eq!(page["total"], 7);
    assert_eq!(page["startAt"], 5);
    assert_eq!(page["issues"].as_array().map(Vec::len), Some(2));
    assert_eq!(page["issues"][1]["key"], "APAC-3", "seeded APAC-1, APAC-2 come first; DESC order ends at APAC-3");
    // Errors.
    let r = s.get("apac", "/rest/api/2/search?jql=project%20%3D%20NOPE").await;
    assert_eq!(
        (r.status, r.body["errorMessages"][0].as_str()),
        (400, Some("The value 'NOPE' does not exist for the field 'project'."))
    );
    let r = s.get("apac", "/rest/api/2/search?jql=status%20%3E%20Done").await;
    assert_eq!(r.status, 400);
    let r = s.get("hub", "/rest/api/3/search?jql=project%3DPORT").await;
    assert_eq!(r.status, 410, "Cloud removed the old search");
    let r = s.get("hub", "/rest/api/3/search/jql?jql=ORDER%20BY%20key").await;
    assert_eq!(r.status, 400, "unbounded queries are refused");
    let r = s.get("apac", "/rest/api/2/search/jql?jql=project%3DAPAC").await;
    assert_eq!(r.status, 404, "Data Center has no enhanced search");
}

/// JQL dates are read in the caller's time zone (hub's sync-bot: Berlin).
#[tokio::test]
async fn jql_dates_use_the_callers_time_zone() {
    let s = Sim::start().await;
    let key = s.create("hub", "PORT", "timely", json!({})).await;
    let tz: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
    let soon = chrono::Utc::now() + chrono::Duration::minutes(30);
    let fmt =
        |t: chrono::DateTime<chrono::Utc>, z: chrono_tz::Tz| t.with_timezone(&z).format("%Y-%m-%d %H:%M").to_string();
    let key = &key;
    let s = &s;
    let search = |jql: String| async move {
        {
            let body = json!({"jql": jql, "fields": ["key"]});
            let page = s.call("hub", "POST", "/rest/api/3/search/jql", Some(&body)).await.body;
            page["issues"]
                .as_array()
                .map(|a| a.iter().any(|i| i["key"].as_str() == Some(key.as_str())))
                .unwrap_or(false)
        }
    };
    assert!(search(format!("project = PORT AND updated <= \"{}\"", fmt(soon, tz))).await, "Berlin time, 30 min ahead");
    assert!(
        !search(format!("project = PORT AND updated <= \"{}\"", fmt(soon - chrono::Duration::hours(1), tz))).await,
        "the same instant minus the Berlin offset is in the past"
    );
    assert!(search("project = PORT AND updated >= -5m".into()).await);
    assert!(!search("project = PORT AND created < -1d".into()).await);
}

#[tokio::test]
async fn unknown_paths_and_versions_are_404_in_jiras_shape() {
    let s = Sim::start().await;
    let r = s.get("hub", "/rest/api/3/nothing/here").await;
    assert_eq!(r.status, 404);
    assert!(r.body["errorMessages"][0].as_str().unwrap().contains("null for uri"));
    assert_eq!(s.get("apac", "/rest/api/3/myself").await.status, 404, "Data Center has no v3");
    assert_eq!(s.get("hub", "/rest/api/2/myself").await.status, 200, "Cloud answers v2 too");
}

/// `fields.updated` of `key`, as an instant.
async fn updated(s: &Sim, site: &str, key: &str) -> chrono::DateTime<chrono::Utc> {
    let v = s.get(site, &format!("{}/issue/{key}?fields=updated", s.api(site))).await.body;
    let text = v["fields"]["updated"].as_str().unwrap_or_else(|| panic!("{key} has no updated: {v}"));
    chrono::DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.3f%z").expect("Jira's timestamp format").to_utc()
}

/// Returns once the clock is past `t` (timestamps have milliseconds, so a
/// change in the same millisecond would not show).
async fn clock_past(t: chrono::DateTime<chrono::Utc>) {
    let what = format!("the clock to pass {t}");
    super::support::wait_until(std::time::Duration::from_secs(2), &what, || async {
        (chrono::Utc::now() > t).then_some(())
    })
    .await;
}

#[tokio::test]
async fn links_comments_and_transitions_bump_updated() {
    let s = Sim::start().await;
    for site in ["hub", "apac"] {
        let project = if site == "hub" { "PORT" } else { "APAC" };
        let api = s.api(site);
        let a = s.create(site, project, "one end", json!({})).await;
        let b = s.create(site, project, "other end", json!({})).await;

        let (a0, b0) = (updated(&s, site, &a).await, updated(&s, site, &b).await);
        clock_past(a0.max(b0)).await;
        let link = json!({"type": {"name": "Relates"}, "inwardIssue": {"key": a}, "outwardIssue": {"key": b}});
        assert_eq!(s.call(site, "POST", &format!("{api}/issueLink"), Some(&link)).await.status, 201);
        let (a1, b1) = (updated(&s, site, &a).await, updated(&s, site, &b).await);
        assert!(a1 > a0 && b1 > b0, "{site}: a link bumps both ends: {a0} -> {a1}, {b0} -> {b1}");

        clock_past(a1).await;
        let comment = json!({"body": "noted"});
        let r = s.call(site, "POST", &format!("/rest/api/2/issue/{a}/comment"), Some(&comment)).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let a2 = updated(&s, site, &a).await;
        assert!(a2 > a1, "{site}: a comment bumps updated: {a1} -> {a2}");

        clock_past(a2).await;
        let start = json!({"transition": {"id": "11"}});
        assert_eq!(s.call(site, "POST", &format!("{api}/issue/{a}/transitions"), Some(&start)).await.status, 204);
        let a3 = updated(&s, site, &a).await;
        assert!(a3 > a2, "{site}: a transition bumps updated: {a2} -> {a3}");
    }
}

/// `id`/`issue` name the key field and take numeric ids; a key clause
/// naming an issue that does not exist fails the query, as on Jira.
#[tokio::test]
async fn jql_reads_issues_by_id_and_refuses_missing_ones() {
    let s = Sim::start().await;
    let id = s.get("apac", "/rest/api/2/issue/APAC-1?fields=summary").await.body["id"].as_str().unwrap().to_string();
    for jql in [format!("id in ({id})"), format!("issue = {id}"), format!("key in ({id}, APAC-1)")] {
        let r = s.call("apac", "POST", "/rest/api/2/search", Some(&json!({"jql": jql, "fields": ["key"]}))).await;
        assert_eq!(r.status, 200, "{jql}: {}", r.body);
        let keys: Vec<&str> = r.body["issues"].as_array().unwrap().iter().filter_map(|i| i["key"].as_str()).collect();
        assert_eq!(keys, ["APAC-1"], "{jql}");
    }
    let r = s.call("apac", "POST", "/rest/api/2/search", Some(&json!({"jql": "key in (APAC-1, APAC-999)"}))).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["errorMessages"][0], "An issue with key 'APAC-999' does not exist for field 'key'.");
    let body = json!({"jql": "id in (99999)", "reconcileIssues": [99999]});
    let r = s.call("emea", "POST", "/rest/api/3/search/jql", Some(&body)).await;
    assert_eq!(r.status, 400, "{}", r.body);
}

/// `/_sim/issues/{key}/move`: a new key in the other project, the same id,
/// the old key still finding the issue, a webhook-visible change; and
/// clear refusals.
#[tokio::test]
async fn a_move_gives_a_new_key_and_keeps_the_id_and_the_old_key() {
    let mut world = jirafed::sim::default_world(0);
    let emea = world.sites.iter_mut().find(|s| s.name == "emea").expect("emea");
    emea.projects.push(jirafed::sim::world::ProjectConfig {
        key: "EMEX".into(),
        name: "EMEA Extra".into(),
        components: vec![],
    });
    let s = Sim::start_world(&world).await;
    let id = s.get("emea", "/rest/api/3/issue/EMEA-1").await.body["id"].clone();
    let move_ = |key: &'static str, project: &'static str, user: &'static str| {
        let s = &s;
        async move {
            let body = json!({"project": project, "user": user});
            s.control("emea", "POST", &format!("/_sim/issues/{key}/move"), Some(&body)).await
        }
    };
    for (key, project, user, status) in [
        ("EMEA-1", "EMEA", "alice", 400),
        ("EMEA-1", "NOPE", "alice", 400),
        ("EMEA-1", "EMEX", "mallory", 400),
        ("EMEA-999", "EMEX", "alice", 404),
    ] {
        let r = move_(key, project, user).await;
        assert_eq!(r.status, status, "{key} to {project} by {user}: {}", r.body);
    }

    let r = move_("EMEA-1", "EMEX", "alice").await;
    assert_eq!((r.status, &r.body["key"], &r.body["id"]), (200, &json!("EMEX-1"), &id), "{}", r.body);
    let moved = s.get("emea", "/rest/api/3/issue/EMEX-1").await.body;
    assert_eq!((&moved["id"], &moved["fields"]["project"]["key"]), (&id, &json!("EMEX")), "{moved}");
    let old = s.get("emea", "/rest/api/3/issue/EMEA-1").await.body;
    assert_eq!((&old["id"], &old["key"]), (&id, &json!("EMEX-1")), "the old key finds the moved issue: {old}");
}
