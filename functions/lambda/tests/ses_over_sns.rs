//! SES mail delivered to the email-inbound function as an SNS Lambda event (the AWS path;
//! the dev server receives the same notification over HTTPS).

use std::sync::Arc;

use aws_lambda_events::event::sns::SnsEvent;
use replyline_api::{AppState, Auth};
use replyline_config::Config;
use replyline_domain::{
    FixedClock, InboxView, PageSize, SearchQuery, SortOrder, StatusFilter, Timestamp,
};
use replyline_store::sqlite::SqliteStore;
use replyline_store::{Faults, InboxQuery};

fn state() -> AppState {
    let config = Config::from_toml(
        "[store]\nkind = \"sqlite\"\npath = \"unused.db\"\n[[channels]]\nid = \"mail\"\nkind = \"email\"\nfrom = \"support@shop.example\"\n",
    )
    .unwrap();
    let store = Arc::new(SqliteStore::open_in_memory(Faults::default()).unwrap());
    let clock = Arc::new(FixedClock::new(
        Timestamp::parse_rfc3339("2026-11-25T12:00:00Z").unwrap(),
    ));
    AppState::new(
        config,
        store,
        replyline_channels::http_client().unwrap(),
        clock,
        Auth::GatewayJwt {
            claim: "sub".into(),
        },
    )
}

/// The SNS Lambda event shape (AWS docs), carrying an SES "Received" notification.
fn sns_event(ses_message: &str) -> SnsEvent {
    serde_json::from_value(serde_json::json!({"Records": [{
        "EventSource": "aws:sns", "EventVersion": "1.0",
        "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:ses-inbound:6f1c3e5a-0000-4c1b-9c7e-1b2c3d4e5f60",
        "Sns": {
            "Type": "Notification", "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:ses-inbound",
            "Subject": "Amazon SES Email Receipt Notification",
            "Message": ses_message,
            "Timestamp": "2026-11-25T11:59:59.000Z", "SignatureVersion": "1",
            "Signature": "EXAMPLE", "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-example.pem",
            "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe", "MessageAttributes": {}
        }}]}))
    .expect("a valid SNS event")
}

fn ses_notification() -> String {
    let mime = "From: \"Lena Berg\" <lena@example.com>\r\nTo: support@shop.example\r\nSubject: Broken zipper\r\nMessage-ID: <abc123@mail.example>\r\nDate: Wed, 25 Nov 2026 11:59:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe zipper broke on day two.\r\n";
    serde_json::json!({"notificationType": "Received",
        "mail": {"timestamp": "2026-11-25T11:59:00.000Z", "source": "lena@example.com", "messageId": "ses-1",
                 "destination": ["support@shop.example"],
                 "commonHeaders": {"from": ["Lena Berg <lena@example.com>"], "messageId": "<abc123@mail.example>", "subject": "Broken zipper"}},
        "receipt": {"spamVerdict": {"status": "PASS"}, "virusVerdict": {"status": "PASS"}},
        "content": mime})
    .to_string()
}

#[tokio::test]
async fn ses_mail_over_sns_is_recorded_once() {
    let state = state();
    let event = sns_event(&ses_notification());
    replyline_lambda::record_ses_over_sns(&state, event.clone())
        .await
        .unwrap();
    // SNS may deliver twice: still one message.
    replyline_lambda::record_ses_over_sns(&state, event)
        .await
        .unwrap();
    let page = state
        .store
        .list_inbox(&InboxQuery {
            agent: "alice".parse().unwrap(),
            view: InboxView::All,
            status: StatusFilter::All,
            search: Some(SearchQuery::parse("lena@example.com").unwrap()),
            sort: SortOrder::Newest,
            limit: PageSize::DEFAULT,
            cursor: None,
            now: state.clock.now(),
        })
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    let c = &page.items[0].contact;
    assert_eq!(c.first_name.as_ref().unwrap().as_str(), "Lena");
    let t = state
        .store
        .list_messages(&c.id, PageSize::DEFAULT, None)
        .await
        .unwrap();
    assert_eq!(t.items.len(), 1);
    assert_eq!(
        t.items[0].provider_message_id.as_deref(),
        Some("<abc123@mail.example>")
    );
}

#[tokio::test]
async fn an_unreadable_notification_is_skipped_not_retried() {
    let state = state();
    replyline_lambda::record_ses_over_sns(&state, sns_event("not json"))
        .await
        .unwrap();
}
