//! Finding a site's user by e-mail address.

use serde_json::Value;

use super::{JiraClient, refused};
use crate::config::Flavour;
use crate::jira::error::JiraError;
use crate::jira::model::UserRef;
use crate::jira::timing::CallOp;

impl JiraClient {
    /// Finds a user by e-mail (Cloud `query=`, Data Center `username=`).
    /// A user showing that address is taken. Cloud hides the address of
    /// many users, so when none shows it, the search for a full address
    /// finding exactly one active user who shows no address is taken too;
    /// several such users are ambiguous (an error: the mapping must name
    /// the user otherwise).
    pub async fn find_user_by_email(&self, email: &str) -> Result<Option<UserRef>, JiraError> {
        let param = match self.flavour {
            Flavour::Cloud => "query",
            Flavour::DataCenter => "username",
        };
        let v = self.get(CallOp::UserSearch, "user/search", &[(param, email.to_string())]).await?;
        pick_user(email, &v).map_err(|n| {
            refused(
                "GET user/search",
                format!("e-mail {email} matches {n} active users who hide their address on {}", self.id),
            )
        })
    }
}

/// The user a search for `email` found; `Err(n)` when `n` > 1 users who hide
/// their address could each be the one.
fn pick_user(email: &str, found: &Value) -> Result<Option<UserRef>, usize> {
    let users: Vec<(UserRef, bool)> = found
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| Some((UserRef::parse(u)?, u.get("active").and_then(Value::as_bool).unwrap_or(true))))
        .collect();
    let shown = users.iter().filter(|(u, _)| u.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(email)));
    let mut shown: Vec<&(UserRef, bool)> = shown.collect();
    // An active user first, if the address is shown by several.
    shown.sort_by_key(|(_, active)| !active);
    if let Some((u, _)) = shown.first() {
        return Ok(Some(u.clone()));
    }
    if !is_full_address(email) {
        return Ok(None);
    }
    let hidden: Vec<&UserRef> =
        users.iter().filter(|(u, active)| *active && u.email.is_none()).map(|(u, _)| u).collect();
    match hidden.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some((*one).clone())),
        many => Err(many.len()),
    }
}

/// `local@domain.tld`: a search for less may match users by name.
fn is_full_address(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => !local.is_empty() && domain.contains('.') && !domain.ends_with('.'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn account(v: &Result<Option<UserRef>, usize>) -> Result<Option<&str>, usize> {
        v.as_ref().map(|u| u.as_ref().and_then(|u| u.account_id.as_deref())).map_err(|n| *n)
    }

    #[test]
    fn a_shown_address_wins_then_one_hidden_active_user() {
        let shown = json!([
            {"accountId": "hidden-1", "active": true},
            {"accountId": "alice", "emailAddress": "Alice@Example.com", "active": true}
        ]);
        assert_eq!(account(&pick_user("alice@example.com", &shown)), Ok(Some("alice")));
        let one_hidden = json!([
            {"accountId": "other", "emailAddress": "other@example.com", "active": true},
            {"accountId": "gone", "active": false},
            {"accountId": "hidden-1", "displayName": "Alice", "active": true}
        ]);
        assert_eq!(account(&pick_user("alice@example.com", &one_hidden)), Ok(Some("hidden-1")));
        let two_hidden = json!([{"accountId": "h1", "active": true}, {"accountId": "h2"}]);
        assert_eq!(account(&pick_user("alice@example.com", &two_hidden)), Err(2));
        let inactive = json!([{"accountId": "gone", "active": false}]);
        assert_eq!(account(&pick_user("alice@example.com", &inactive)), Ok(None));
        assert_eq!(account(&pick_user("alice@example.com", &json!([]))), Ok(None));
        assert_eq!(account(&pick_user("alice", &one_hidden)), Ok(None), "not a full address");
        assert_eq!(account(&pick_user("alice@example.com", &json!({"oops": 1}))), Ok(None));
    }
}
