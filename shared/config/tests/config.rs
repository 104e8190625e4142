//! The configuration document: the sample parses, and mistakes are named precisely.

use replyline_config::{ChannelSettings, Config, ConfigError, ExposeSecret, StoreConfig};
use replyline_domain::{AssignOnOutbound, ChannelKind, ClosingNotesMode};
use replyline_policy::HUMAN_AGENT;

const MINIMAL: &str = r#"
[store]
kind = "sqlite"
path = "x.db"
"#;

fn parse(extra: &str) -> Result<Config, ConfigError> {
    Config::from_toml(&format!("{MINIMAL}\n{extra}"))
}

fn err(extra: &str) -> String {
    parse(extra).unwrap_err().to_string()
}

#[test]
fn the_sample_dev_config_parses() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/dev.toml");
    let c = Config::load(&path).unwrap();
    assert_eq!(c.server.listen.to_string(), "127.0.0.1:8080");
    assert!(matches!(c.store, StoreConfig::Sqlite { .. }));
    assert_eq!(c.workspace.assign_on_outbound, AssignOnOutbound::Always);
    assert_eq!(c.workspace.closing_notes, ClosingNotesMode::Optional);
    assert_eq!(c.agents.len(), 2);
    let kinds: Vec<_> = c.channels.iter().map(|ch| ch.kind).collect();
    assert_eq!(
        kinds,
        [
            ChannelKind::Telegram,
            ChannelKind::Webchat,
            ChannelKind::Sms
        ]
    );
    assert_eq!(
        c.agent_by_token("dev-token-alice").map(|a| a.as_str()),
        Some("alice")
    );
    assert_eq!(c.agent_by_token("dev-token-alicE"), None);
    assert_eq!(
        c.channel("tg").unwrap().api_base.as_str(),
        "http://127.0.0.1:8080/_sandbox/telegram"
    );
}

#[test]
fn channels_default_to_the_providers_public_api() {
    let c = parse(
        "[[channels]]\nid = \"tg\"\nkind = \"telegram\"\nbot_token = \"a\"\nsecret_token = \"b\"",
    )
    .unwrap();
    assert_eq!(
        c.channel("tg").unwrap().api_base.as_str(),
        "https://api.telegram.org/"
    );
}

#[test]
fn secrets_never_show_in_debug_output() {
    let c = parse(
        r#"[[channels]]
id = "tg"
kind = "telegram"
bot_token = "SUPER-SECRET-BOT"
secret_token = "SUPER-SECRET-HOOK"
[[agents]]
id = "alice"
token = "SUPER-SECRET-AGENT"
"#,
    )
    .unwrap();
    let dump = format!("{c:?}");
    assert!(!dump.contains("SUPER-SECRET"), "{dump}");
    let ChannelSettings::Telegram(t) = &c.channels[0].settings else {
        panic!()
    };
    assert_eq!(t.bot_token.expose_secret(), "SUPER-SECRET-BOT");
}

#[test]
fn unknown_keys_are_named() {
    assert!(err("[workspace]\nunasign_on_close = true").contains("unasign_on_close"));
    let e = err("[[channels]]\nid = \"tg\"\nkind = \"telegram\"\nbot_token = \"a\"\nsecret_token = \"b\"\nbot_tokn = \"c\"");
    assert!(e.contains("bot_tokn") && e.contains("'tg'"), "{e}");
    assert!(err("[bogus]\nx = 1").contains("bogus"));
}

#[test]
fn missing_required_keys_are_named() {
    let e = err("[[channels]]\nid = \"tg\"\nkind = \"telegram\"\nbot_token = \"a\"");
    assert!(e.contains("secret_token") && e.contains("'tg'"), "{e}");
    let e = Config::from_toml("[server]\npublic_url = \"http://x\"")
        .unwrap_err()
        .to_string();
    assert!(e.contains("store"), "{e}");
    let e = err("[[channels]]\nkind = \"telegram\"");
    assert!(e.contains("id"), "{e}");
}

#[test]
fn bad_values_are_explained() {
    assert!(err("[[channels]]\nid = \"tg\"\nkind = \"fax\"").contains("'fax'"));
    assert!(err("[[channels]]\nid = \"Bad Id\"\nkind = \"telegram\"").contains("channels[0]"));
    let e = err("[[channels]]\nid = \"tg\"\nkind = \"telegram\"\nbot_token = \"a\"\nsecret_token = \"b\"\napi_base = \"ftp://x\"");
    assert!(e.contains("api_base"), "{e}");
    let e = err("[[agents]]\nid = \"a\"\ntoken = \"short\"");
    assert!(e.contains("8 characters"), "{e}");
}

#[test]
fn duplicate_ids_and_tokens_are_refused() {
    let tg =
        "[[channels]]\nid = \"tg\"\nkind = \"telegram\"\nbot_token = \"a\"\nsecret_token = \"b\"\n";
    assert!(err(&format!("{tg}{tg}")).contains("two channels"));
    let e = err("[[agents]]\nid = \"a\"\ntoken = \"same-token-1\"\n[[agents]]\nid = \"b\"\ntoken = \"same-token-1\"");
    assert!(e.contains("another agent"), "{e}");
}

#[test]
fn rules_can_be_overridden_per_channel_and_by_kind_settings() {
    let c = parse(
        r#"[[channels]]
id = "fb"
kind = "messenger"
app_secret = "s"
verify_token = "v"
page_access_token = "t"
human_agent_tag = false

[[channels]]
id = "vb"
kind = "viber"
auth_token = "t"
initiated_allowance_per_month = 5
commercial_terms_accepted = true

[[channels]]
id = "api"
kind = "custom"
secret = "s"
rules = { window = "12h", quota_per_window = 3 }
"#,
    )
    .unwrap();
    assert!(c
        .channel("fb")
        .unwrap()
        .rules
        .tags
        .iter()
        .all(|t| t.name != HUMAN_AGENT));
    let vb = c.channel("vb").unwrap().rules.paid.unwrap();
    assert_eq!(
        (vb.monthly_allowance, vb.commercial_terms_accepted),
        (5, true)
    );
    let api = &c.channel("api").unwrap().rules;
    assert_eq!(api.window, Some(std::time::Duration::from_secs(12 * 3600)));
    assert_eq!(api.quota_per_window, Some(3));

    let e = err("[[channels]]\nid = \"fb\"\nkind = \"messenger\"\napp_secret = \"s\"\nverify_token = \"v\"\naccess_token = \"t\"\nhuman_agent_tag = false\nrules = { human_agent_tag = true }");
    assert!(e.contains("both"), "{e}");
    let e = err("[[channels]]\nid = \"tg\"\nkind = \"telegram\"\nbot_token = \"a\"\nsecret_token = \"b\"\nrules = { human_agent_tag = true }");
    assert!(e.contains("human_agent_tag") && e.contains("'tg'"), "{e}");
}

#[test]
fn config_path_comes_from_the_flag_or_the_environment() {
    let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        Config::path_from(&args(&["--config", "a.toml"]), Some("b.toml".into())).unwrap(),
        std::path::PathBuf::from("a.toml")
    );
    assert_eq!(
        Config::path_from(&args(&["--config=c.toml"]), None).unwrap(),
        std::path::PathBuf::from("c.toml")
    );
    assert_eq!(
        Config::path_from(&[], Some("b.toml".into())).unwrap(),
        std::path::PathBuf::from("b.toml")
    );
    assert!(matches!(
        Config::path_from(&[], None),
        Err(ConfigError::Missing)
    ));
}

#[test]
fn a_deployment_supplies_the_table_and_public_url() {
    use replyline_config::Deployment;
    let deployment = Deployment {
        table: Some("replyline-Table-1".to_owned()),
        public_url: Some(
            "https://abc.execute-api.eu-west-1.amazonaws.com"
                .parse()
                .unwrap(),
        ),
    };
    // The secret's document may leave [store] out entirely...
    let c =
        Config::from_toml_deployed("[workspace]\nunassign_on_close = true\n", &deployment).unwrap();
    assert!(
        matches!(&c.store, StoreConfig::Dynamodb { table, tenant } if table == "replyline-Table-1" && tenant == "default")
    );
    assert_eq!(
        c.server.public_url.as_str(),
        "https://abc.execute-api.eu-west-1.amazonaws.com/"
    );
    // ...or name a tenant, which is kept while the table comes from the deployment.
    let c = Config::from_toml_deployed(
        "[store]\nkind = \"dynamodb\"\ntable = \"old\"\ntenant = \"acme\"\n",
        &deployment,
    )
    .unwrap();
    assert!(
        matches!(&c.store, StoreConfig::Dynamodb { table, tenant } if table == "replyline-Table-1" && tenant == "acme")
    );
    // A document that says SQLite contradicts the deployment: refused, with the fix.
    let e = Config::from_toml_deployed(MINIMAL, &deployment)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("replyline-Table-1") && e.contains("remove [store]"),
        "{e}"
    );
    // Without a deployment, [store] is required.
    let e = Config::from_toml("[workspace]\n").unwrap_err().to_string();
    assert!(e.contains("missing [store]"), "{e}");
}

#[test]
fn the_sample_aws_config_parses_with_a_deployment() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/aws.example.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let deployment = replyline_config::Deployment {
        table: Some("t".to_owned()),
        public_url: None,
    };
    let c = Config::from_toml_deployed(&text, &deployment).unwrap();
    assert!(matches!(c.store, StoreConfig::Dynamodb { .. }));
    assert!(
        c.agents.is_empty(),
        "in AWS the JWT authorizer names agents"
    );
    assert!(!c.channels.is_empty());
}
