//! The invitation email: its single-use token, issued when the dispatcher sends it, and its
//! link to the accept page.

use crate::app::App;
use crate::domain::html;
use crate::domain::secrets::Token;
use crate::ports::mail::Email;
use crate::ports::store::StoreError;
use crate::records::outbox::InvitationEmail;
use crate::records::{company, invitation, user};
use crate::records::{Invitation, InvitationStatus};
use chrono::DateTime;

/// Called by the dispatcher when outbox message `outbox_id` (queued at `queued_at`) sends an
/// invitation: issues a single-use token for that message, stores its hash and renders the
/// email. `None` when there is nothing to send: the invitation is no longer pending
/// (accepted, expired or gone) or was replaced by a newer one after this message was queued.
///
/// A re-send of the same message (after a crash between sending and marking it sent, or a
/// failure that may have hidden a delivery) issues another token and keeps the earlier ones
/// live; a token for another message revokes the previous one. See `usecases::outbox`.
pub async fn issue(
    app: &App,
    outbox_id: &str,
    queued_at: &str,
    msg: &InvitationEmail,
) -> Result<Option<Email>, StoreError> {
    let store = app.store.as_ref();
    let Some((inv, issued_for)) =
        invitation::find_issued(store, msg.company_id, &msg.email).await?
    else {
        return Ok(None);
    };
    if inv.status != InvitationStatus::Pending || inv.expires_at <= app.clock.now() {
        return Ok(None);
    }
    let superseded = DateTime::parse_from_rfc3339(queued_at).is_ok_and(|q| q < inv.created_at);
    if superseded {
        return Ok(None);
    }
    let company_name = company::find(store, msg.company_id)
        .await?
        .map(|c| c.name)
        .unwrap_or_else(|| "your company".into());
    let token = Token::generate("inv_").map_err(|e| StoreError::Internal(e.to_string().into()))?;
    let writes = invitation::issue_token(&inv, &token.hash(), outbox_id, issued_for.as_deref());
    match store.transact(writes).await {
        Ok(()) => {}
        Err(e) if e.failed_at(0) => return Ok(None),
        Err(e) => return Err(e),
    }
    let link = accept_link(&app.config.accept_page_url, &msg.link_base, token.reveal());
    let inviter = user::find(store, inv.invited_by)
        .await?
        .map(|u| format!("{} {}", u.first_name, u.last_name))
        .unwrap_or_else(|| "Someone".into());
    Ok(Some(invitation_email(&inv, &inviter, &company_name, &link)))
}

/// The invitation email: who invites, to which company, for how long, and the link.
fn invitation_email(inv: &Invitation, inviter: &str, company_name: &str, link: &str) -> Email {
    let mut paragraphs = vec![format!("{inviter} invited you to join {company_name}.")];
    paragraphs.push(match inv.access_days {
        Some(d) => format!("The access is temporary: it lasts {d} days from when you accept."),
        None if inv.via_site => "The access is permanent.".to_string(),
        None => {
            "Accepting makes you a member of the company and of the teams the invitation names."
                .to_string()
        }
    });
    let letter = html::Letter {
        company: Some(company_name.to_string()),
        heading: format!("You are invited to join {company_name}"),
        greeting: Some("Hello,".into()),
        paragraphs,
        quote: inv.message.clone().map(|m| (inviter.to_string(), m)),
        action: Some(html::Action {
            label: "See the invitation".into(),
            does: "Open the invitation to see what it offers and accept it; the link works once.".into(),
            url: link.to_string(),
            expires: Some(format!("on {}", inv.expires_at.format("%-d %B %Y at %H:%M UTC"))),
        }),
        footer: vec![
            "If you were not expecting this invitation, ignore this email: nothing happens unless you accept.".into(),
        ],
    };
    Email::letter(
        inv.email.to_string(),
        format!("{inviter} invited you to {company_name}"),
        &letter,
    )
}

/// The path of the page where an invitee accepts (`GET` shows it, `POST` accepts).
pub const ACCEPT_PAGE_PATH: &str = "/invitations/accept";

/// The page the accept form sends the browser to once accepted (post/redirect/get).
pub const ACCEPTED_PAGE_PATH: &str = "/invitations/accepted";

/// The link in an invitation email: the accept page (`page_url`, the stage's `AcceptPageUrl`,
/// or else the page at `link_base`) with the token in its query.
pub fn accept_link(page_url: &str, link_base: &str, token: &str) -> String {
    let page = if page_url.is_empty() {
        format!("{}{ACCEPT_PAGE_PATH}", link_base.trim_end_matches('/'))
    } else {
        page_url.to_string()
    };
    let separator = if page.contains('?') { '&' } else { '?' };
    format!("{page}{separator}token={token}")
}

#[cfg(test)]
mod tests {
    use super::accept_link;

    #[test]
    fn the_email_links_to_the_accept_page() {
        assert_eq!(
            accept_link("", "https://api.example.com/", "inv_1"),
            "https://api.example.com/invitations/accept?token=inv_1"
        );
        assert_eq!(
            accept_link(
                "https://app.acme.example/join",
                "https://api.example.com",
                "inv_2"
            ),
            "https://app.acme.example/join?token=inv_2"
        );
        assert_eq!(
            accept_link(
                "https://app.acme.example/join?lang=fr",
                "https://x",
                "inv_3"
            ),
            "https://app.acme.example/join?lang=fr&token=inv_3"
        );
    }
}
