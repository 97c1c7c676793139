//! The only code that knows Jira JSON: the client, its model, webhook
//! bodies, and the rich text conversions between ADF (Cloud) and wiki markup
//! (Data Center).

// `JiraError` carries Jira's own messages, so it is large; it only travels
// on the slow path after a network call, where its size costs nothing.
#![allow(clippy::result_large_err)]

pub mod client;
pub mod error;
pub mod explain;
pub mod fake;
pub mod fields;
pub mod limiter;
pub mod mark;
pub mod model;
pub mod richtext;
pub mod site;
pub mod timing;
pub mod transport;
pub mod values;
pub mod webhook;

pub use error::{ErrorKind, JiraError};
pub use limiter::{Budget, Limiter, LimiterState, Permit, Pressure};
pub use site::{Site, SiteFuture, SiteHealth};
pub use timing::{CallOp, CallOutcome, CallTimer, CallTiming};
pub use transport::{Call, Reachability, RecordedCall, Reply, RetryConfig, Transport};
pub use values::{FieldValue, FieldWrites};
