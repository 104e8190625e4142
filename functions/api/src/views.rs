//! The JSON the agent API returns, built from store results. Reply statuses are computed
//! here, at read time, from each channel's configured rules and the contact's state.

use replyline_domain::Timestamp;
use replyline_policy::{reply_status, SenderKind};
use replyline_store::{ContactChannel, ContactDetails, InboxItem, InboxPage};
use serde_json::{json, Value};

use crate::state::AppState;

/// One channel of a contact, with what a human agent may send on it now.
pub fn channel_view(state: &AppState, ch: &ContactChannel, now: Timestamp) -> Value {
    let id = ch.identity.channel.as_str();
    let reply = state
        .channel(id)
        .map(|(config, _)| {
            serde_json::to_value(reply_status(
                &config.rules,
                &ch.state,
                SenderKind::Human,
                now,
            ))
            .unwrap_or(Value::Null)
        })
        // A channel removed from the configuration: history stays, nothing can be sent.
        .unwrap_or_else(|| {
            json!({"mode": "none", "reason": "channel_not_configured",
            "message": "This channel is no longer configured: nothing can be sent on it."})
        });
    json!({
        "channel": id,
        "kind": ch.identity.kind,
        "external_id": ch.identity.external_id,
        "last_inbound_at": ch.state.last_inbound_at,
        "opted_out": ch.state.opted_out,
        "unsubscribed": ch.state.unsubscribed,
        "reply": reply,
    })
}

pub fn inbox_item(state: &AppState, item: &InboxItem, now: Timestamp) -> Value {
    json!({
        "contact": item.contact,
        "conversation": item.conversation,
        "status": item.status,
        "assignee": item.contact.assignee,
        "last_activity_at": item.last_activity_at,
        "last_message": item.last_message,
        "channels": item.channels.iter().map(|c| channel_view(state, c, now)).collect::<Vec<_>>(),
    })
}

pub fn inbox_page(state: &AppState, page: &InboxPage, now: Timestamp) -> Value {
    json!({
        "items": page.items.iter().map(|i| inbox_item(state, i, now)).collect::<Vec<_>>(),
        "next_cursor": page.next_cursor,
        "counts": page.counts,
    })
}

pub fn contact_details(state: &AppState, d: &ContactDetails, now: Timestamp) -> Value {
    json!({
        "contact": d.contact,
        "conversation": d.conversation,
        "status": d.status,
        "last_activity_at": d.last_activity_at,
        "channels": d.channels.iter().map(|c| channel_view(state, c, now)).collect::<Vec<_>>(),
    })
}
