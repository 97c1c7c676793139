//! Who is calling: Cloud takes Basic `email:api-token`; Data Center takes
//! `Bearer <personal access token>` or Basic `user:password`.

use axum::http::{self, HeaderMap};
use base64::Engine;

use super::model::{SiteData, User};
use crate::config::Flavour;

/// Finds the user the `Authorization` header names, if the secret matches.
pub fn authenticate<'a>(site: &'a SiteData, headers: &HeaderMap) -> Option<&'a User> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    match (site.flavour, scheme.to_ascii_lowercase().as_str()) {
        (Flavour::DataCenter, "bearer") => site.users.iter().find(|u| u.pat.as_deref() == Some(rest.trim())),
        (flavour, "basic") => {
            let decoded = base64::engine::general_purpose::STANDARD.decode(rest.trim()).ok()?;
            let text = String::from_utf8(decoded).ok()?;
            let (who, secret) = text.split_once(':')?;
            site.users.iter().find(|u| match flavour {
                Flavour::Cloud => u.email.eq_ignore_ascii_case(who) && u.token.as_deref() == Some(secret),
                Flavour::DataCenter => u.login == who && u.password.as_deref() == Some(secret),
            })
        }
        _ => None,
    }
}

/// The 401 message each flavour sends.
pub fn unauthorized_message(flavour: Flavour) -> &'static str {
    match flavour {
        Flavour::Cloud => "Client must be authenticated to access this resource.",
        Flavour::DataCenter => "You are not authenticated. Authentication required to perform this operation.",
    }
}

/// Whether `user` holds `key` in some project: Jira's global context, as
/// `mypermissions` without a project reports it.
pub fn has_permission(user: &User, key: &str) -> bool {
    user.permissions.iter().any(|p| p == key) && user.projects.as_ref().is_none_or(|ps| !ps.is_empty())
}

/// Whether `user` holds `key` in the project with key `project`.
pub fn has_permission_in(user: &User, key: &str, project: &str) -> bool {
    user.permissions.iter().any(|p| p == key)
        && user.projects.as_ref().is_none_or(|ps| ps.iter().any(|p| p.eq_ignore_ascii_case(project)))
}

/// Whether `user` may see the project's issues (BROWSE_PROJECTS there).
pub fn can_browse(user: &User, project: &str) -> bool {
    has_permission_in(user, "BROWSE_PROJECTS", project)
}
