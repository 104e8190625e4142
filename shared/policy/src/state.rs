//! A contact's state on one channel, as far as the policy cares, and the pure
//! transitions the store applies to it.

use replyline_domain::{Timestamp, YearMonth};
use serde::{Deserialize, Serialize};

/// What the contact did that opened a window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Opener {
    /// A message (or, on Meta, a postback or reaction; on WhatsApp, a call): the standard
    /// window.
    Message,
    /// A Click-to-Messenger / Click-to-Direct ad referral.
    AdReferral,
    /// WeChat: the user followed the account.
    Follow,
    /// WeChat: the user clicked a custom menu item.
    MenuClick,
    /// WeChat: the user scanned the account's QR code.
    QrScan,
    /// WeChat (service accounts): the user paid.
    Payment,
}

impl Opener {
    pub const ALL: [Opener; 6] = [
        Opener::Message,
        Opener::AdReferral,
        Opener::Follow,
        Opener::MenuClick,
        Opener::QrScan,
        Opener::Payment,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Opener::Message => "message",
            Opener::AdReferral => "ad_referral",
            Opener::Follow => "follow",
            Opener::MenuClick => "menu_click",
            Opener::QrScan => "qr_scan",
            Opener::Payment => "payment",
        }
    }
}

/// The latest window-opening event other than a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenerEvent {
    pub opener: Opener,
    pub at: Timestamp,
}

/// Paid messages sent in one calendar month (UTC). A count from an earlier month reads
/// as zero: monthly allowances reset at 00:00 UTC on the first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthlyCount {
    pub month: YearMonth,
    pub count: u32,
}

/// One contact's state on one channel (a "contact-channel"): what the policy decides on.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactChannelState {
    /// `t_in`: the contact's last inbound message on this channel. Outbound messages
    /// never move it.
    pub last_inbound_at: Option<Timestamp>,
    /// The latest non-message event that opened a window (ad referral, WeChat follow...).
    pub last_opener: Option<OpenerEvent>,
    /// Outbound messages sent since the last inbound event (per-window quotas).
    pub sent_since_inbound: u32,
    /// Paid messages sent this month on this channel account (Viber chatbot-initiated).
    /// Providers count the allowance per account (per bot), not per contact, so the store
    /// fills this from the channel's counter.
    pub paid_sent: Option<MonthlyCount>,
    /// The provider refused a send as outside the window at this instant (Meta 2018278,
    /// WhatsApp 131047, WeChat 45015): every window opened before it is closed, whatever
    /// our clock says. A later inbound event opens windows as usual.
    #[serde(default)]
    pub provider_closed_at: Option<Timestamp>,
    /// The provider refused a send as over the window's quota at this instant (WeChat
    /// 45047): windows opened before it have no messages left.
    #[serde(default)]
    pub provider_exhausted_at: Option<Timestamp>,
    /// Blocked in the inbox by an agent.
    pub blocked: bool,
    /// Opted out on this channel (SMS STOP).
    pub opted_out: bool,
    /// Unsubscribed, unfollowed, bot blocked, hard bounce: the provider will not deliver.
    pub unsubscribed: bool,
}

impl ContactChannelState {
    /// Records an inbound event at `at`. Windows only move forward: an event older than
    /// the one already recorded (a late or redelivered webhook) changes nothing. Returns
    /// whether the state moved.
    pub fn record_inbound(&mut self, opener: Opener, at: Timestamp) -> bool {
        let moved = match opener {
            Opener::Message => {
                if self.last_inbound_at.is_some_and(|t| t >= at) {
                    false
                } else {
                    self.last_inbound_at = Some(at);
                    true
                }
            }
            other => {
                if self.last_opener.is_some_and(|e| e.at >= at) {
                    false
                } else {
                    self.last_opener = Some(OpenerEvent { opener: other, at });
                    true
                }
            }
        };
        if moved {
            self.sent_since_inbound = 0;
        }
        moved
    }

    /// Records one outbound message the policy allowed at `now`: it counts against the
    /// window's quota, and against the month's allowance when it was paid.
    pub fn record_outbound(&mut self, paid: bool, now: Timestamp) {
        self.sent_since_inbound = self.sent_since_inbound.saturating_add(1);
        if paid {
            let month = now.month();
            let count = self.paid_sent_in(month).saturating_add(1);
            self.paid_sent = Some(MonthlyCount { month, count });
        }
    }

    /// Records a provider's refusal: the window (or its quota) is over as of `at`, so the
    /// policy stops offering what the provider will refuse. Only moves forward.
    pub fn record_provider_refusal(&mut self, at: Timestamp, quota: bool) {
        let slot = if quota {
            &mut self.provider_exhausted_at
        } else {
            &mut self.provider_closed_at
        };
        if slot.is_none_or(|t| t < at) {
            *slot = Some(at);
        }
    }

    /// Paid messages sent in `month`.
    pub fn paid_sent_in(&self, month: YearMonth) -> u32 {
        match self.paid_sent {
            Some(c) if c.month == month => c.count,
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_millis(ms).unwrap()
    }

    #[test]
    fn inbound_moves_forward_only_and_resets_the_quota() {
        let mut s = ContactChannelState::default();
        assert!(s.record_inbound(Opener::Message, t(2_000)));
        s.record_outbound(false, t(2_500));
        assert_eq!(s.sent_since_inbound, 1);
        // A late-delivered older message changes nothing, not even the counter.
        assert!(!s.record_inbound(Opener::Message, t(1_000)));
        assert_eq!(s.last_inbound_at, Some(t(2_000)));
        assert_eq!(s.sent_since_inbound, 1);
        // A redelivery of the same message neither.
        assert!(!s.record_inbound(Opener::Message, t(2_000)));
        assert!(s.record_inbound(Opener::Message, t(3_000)));
        assert_eq!(s.sent_since_inbound, 0);
    }

    #[test]
    fn other_openers_are_kept_beside_the_message_time() {
        let mut s = ContactChannelState::default();
        s.record_inbound(Opener::Message, t(5_000));
        assert!(s.record_inbound(Opener::Follow, t(6_000)));
        assert_eq!(s.last_inbound_at, Some(t(5_000)));
        assert_eq!(
            s.last_opener,
            Some(OpenerEvent {
                opener: Opener::Follow,
                at: t(6_000)
            })
        );
        assert!(!s.record_inbound(Opener::Payment, t(4_000)));
    }

    #[test]
    fn provider_refusals_only_move_forward() {
        let mut s = ContactChannelState::default();
        s.record_provider_refusal(t(5_000), false);
        s.record_provider_refusal(t(4_000), false);
        assert_eq!(s.provider_closed_at, Some(t(5_000)));
        s.record_provider_refusal(t(6_000), true);
        assert_eq!(s.provider_exhausted_at, Some(t(6_000)));
        assert_eq!(s.provider_closed_at, Some(t(5_000)));
    }

    #[test]
    fn paid_count_resets_with_the_calendar_month() {
        let nov = Timestamp::parse_rfc3339("2026-11-30T23:00:00Z").unwrap();
        let dec = Timestamp::parse_rfc3339("2026-12-01T00:00:00Z").unwrap();
        let mut s = ContactChannelState::default();
        s.record_outbound(true, nov);
        s.record_outbound(true, nov);
        assert_eq!(s.paid_sent_in(nov.month()), 2);
        assert_eq!(s.paid_sent_in(dec.month()), 0);
        s.record_outbound(true, dec);
        assert_eq!(s.paid_sent_in(dec.month()), 1);
        // Unpaid messages do not touch the monthly count.
        s.record_outbound(false, dec);
        assert_eq!(s.paid_sent_in(dec.month()), 1);
        assert_eq!(s.sent_since_inbound, 4);
    }
}
