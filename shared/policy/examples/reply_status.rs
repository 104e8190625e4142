//! Policy explorer: what may be sent to a contact on a channel, for a human agent and for
//! automation.
//!
//! ```text
//! cargo run -p replyline-policy --example reply_status                  # the rules table
//! cargo run -p replyline-policy --example reply_status -- messenger 2d  # 2 days after the last message
//! cargo run -p replyline-policy --example reply_status -- wechat 1h --sent 5
//! cargo run -p replyline-policy --example reply_status -- viber 3d --paid-this-month 10000
//! cargo run -p replyline-policy --example reply_status -- whatsapp never
//! ```

use std::process::ExitCode;

use replyline_domain::{ChannelKind, Clock, SystemClock};
use replyline_policy::{
    default_rules_table, reply_status, ChannelRules, ContactChannelState, MonthlyCount, Opener,
    SenderKind,
};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        print!("{}", default_rules_table());
        return ExitCode::SUCCESS;
    }
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}\nusage: reply_status <kind> <time since last inbound, e.g. 2d, or 'never'> [--sent N] [--paid-this-month N] [--blocked]");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let kind: ChannelKind = args[0].parse().map_err(|e| format!("{e}"))?;
    let now = SystemClock.now();
    let mut state = ContactChannelState::default();
    match args.get(1).map(String::as_str) {
        None | Some("never") => {}
        Some(ago) => {
            let d = humantime::parse_duration(ago).map_err(|e| format!("'{ago}': {e}"))?;
            state.record_inbound(Opener::Message, now.saturating_sub(d));
        }
    }
    let mut rest = args.iter().skip(2);
    while let Some(flag) = rest.next() {
        let mut number = || -> Result<u32, String> {
            rest.next()
                .ok_or(format!("{flag} needs a number"))?
                .parse()
                .map_err(|_| format!("{flag} needs a number"))
        };
        match flag.as_str() {
            "--sent" => state.sent_since_inbound = number()?,
            "--paid-this-month" => {
                state.paid_sent = Some(MonthlyCount {
                    month: now.month(),
                    count: number()?,
                })
            }
            "--blocked" => state.blocked = true,
            other => return Err(format!("unknown option {other}")),
        }
    }
    let rules = ChannelRules::default_for(kind);
    for sender in [SenderKind::Human, SenderKind::Automation] {
        let status = reply_status(&rules, &state, sender, now);
        let json = serde_json::to_string_pretty(&status).map_err(|e| e.to_string())?;
        println!("{sender:?}:\n{json}\n");
    }
    Ok(())
}
