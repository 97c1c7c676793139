//! What each HTTP attempt to a Jira site took, for the
//! `jirafed_jira_call_seconds` histogram. The operation and the outcome are
//! closed sets, so a metric label never carries a URL, a key or a query.

use std::sync::Arc;

/// What a call asks of Jira, named by the client method that builds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallOp {
    /// `GET /myself`: the authentication check.
    Myself,
    /// The site's catalogues: server info, project, fields, create and
    /// edit screens, link types, statuses.
    Metadata,
    /// `GET /user/search`.
    UserSearch,
    GetIssue,
    Search,
    Create,
    Edit,
    Delete,
    /// `GET .../transitions`.
    Transitions,
    /// `POST .../transitions`.
    Transition,
    Link,
    Unlink,
    /// `GET .../remotelink`.
    RemoteLinks,
    /// `POST .../remotelink` (an upsert).
    RemoteLink,
    RemoteUnlink,
    /// `GET .../comment`.
    Comments,
    Comment,
    EditComment,
    DeleteComment,
    /// `GET .../properties/{name}`.
    Property,
    SetProperty,
    DeleteProperty,
    /// A call built without naming its operation.
    Other,
}

impl CallOp {
    /// The `operation` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            CallOp::Myself => "myself",
            CallOp::Metadata => "metadata",
            CallOp::UserSearch => "user_search",
            CallOp::GetIssue => "get_issue",
            CallOp::Search => "search",
            CallOp::Create => "create",
            CallOp::Edit => "edit",
            CallOp::Delete => "delete",
            CallOp::Transitions => "get_transitions",
            CallOp::Transition => "transition",
            CallOp::Link => "link",
            CallOp::Unlink => "unlink",
            CallOp::RemoteLinks => "get_remote_links",
            CallOp::RemoteLink => "remote_link",
            CallOp::RemoteUnlink => "remote_unlink",
            CallOp::Comments => "get_comments",
            CallOp::Comment => "comment",
            CallOp::EditComment => "edit_comment",
            CallOp::DeleteComment => "delete_comment",
            CallOp::Property => "get_property",
            CallOp::SetProperty => "set_property",
            CallOp::DeleteProperty => "delete_property",
            CallOp::Other => "other",
        }
    }
}

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallOutcome {
    /// A 2xx answer.
    Ok,
    /// A 4xx other than 429 (or another non-2xx below 500), or an answer
    /// larger than the instance's `response_body_limit`.
    ClientError,
    /// A 5xx.
    ServerError,
    /// A 429.
    RateLimited,
    /// No answer: connection refused or lost, timeout.
    Network,
}

impl CallOutcome {
    /// The `outcome` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Ok => "ok",
            CallOutcome::ClientError => "client_error",
            CallOutcome::ServerError => "server_error",
            CallOutcome::RateLimited => "rate_limited",
            CallOutcome::Network => "network",
        }
    }

    /// The outcome of an attempt that answered `status`.
    pub fn of_status(status: u16) -> CallOutcome {
        match status {
            200..=299 => CallOutcome::Ok,
            429 => CallOutcome::RateLimited,
            500.. => CallOutcome::ServerError,
            _ => CallOutcome::ClientError,
        }
    }
}

/// One attempt, timed from sending the request to reading the answer (the
/// wait for the rate limiter is not in it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CallTiming {
    pub op: CallOp,
    pub outcome: CallOutcome,
    pub seconds: f64,
}

/// Told of every attempt of one instance's transport.
pub type CallTimer = Arc<dyn Fn(&CallTiming) + Send + Sync>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_follow_the_status() {
        assert_eq!(CallOutcome::of_status(204), CallOutcome::Ok);
        assert_eq!(CallOutcome::of_status(404), CallOutcome::ClientError);
        assert_eq!(CallOutcome::of_status(429), CallOutcome::RateLimited);
        assert_eq!(CallOutcome::of_status(503), CallOutcome::ServerError);
        assert_eq!(CallOutcome::of_status(302), CallOutcome::ClientError);
    }
}
