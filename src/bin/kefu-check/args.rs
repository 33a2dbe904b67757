//! The command line: the Worker's URL and its settings, from flags, a `.dev.vars`-style file
//! or the environment (in that order of precedence).

use std::collections::HashMap;

pub const USAGE: &str =
    "usage: kefu-check --url <base URL> [--vars FILE] [--send-test OPENID] [--NAME value ...]

  --url URL      the Worker, e.g. http://127.0.0.1:8787 or https://kefu-edge.example.workers.dev
  --vars FILE    settings as in .dev.vars (NAME=value lines)
  --send-test OPENID
                 also reply one text to this WeChat Shop buyer through the Worker (their ticket,
                 commkf/sendmsg); needs ADMIN_TOKEN, and the buyer must have written lately
  --NAME value   one setting, e.g. --wechat-token T --wechat-aes-key K --wechat-appid wx…
                 (--pay-sign-key, --order-webhook-secret, --shop-token, --zalo-app-id, …)
Settings not given as flags come from FILE, then from the environment.";

#[derive(Debug, PartialEq, Eq)]
pub struct Invocation {
    pub url: String,
    pub settings: HashMap<String, String>,
    /// A Shop buyer's OpenID to send one test reply to.
    pub send_test: Option<String>,
}

impl Invocation {
    pub fn parse(args: impl Iterator<Item = String>) -> Result<Self, String> {
        Self::parse_with(
            args,
            |path| std::fs::read_to_string(path),
            |name| std::env::var(name).ok(),
        )
    }

    fn parse_with(
        args: impl Iterator<Item = String>,
        read_file: impl Fn(&str) -> std::io::Result<String>,
        environment: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, String> {
        let mut url = None;
        let mut vars_file = None;
        let mut send_test = None;
        let mut flags = HashMap::new();
        let mut args = args.peekable();
        while let Some(arg) = args.next() {
            let Some(flag) = arg.strip_prefix("--") else {
                return Err(format!("unexpected argument {arg:?}"));
            };
            let (name, value) = match flag.split_once('=') {
                Some((name, value)) => (name.to_owned(), value.to_owned()),
                None => {
                    let value = args
                        .next()
                        .ok_or_else(|| format!("--{flag} needs a value"))?;
                    (flag.to_owned(), value)
                }
            };
            match name.as_str() {
                "url" => url = Some(value.trim_end_matches('/').to_owned()),
                "vars" => vars_file = Some(value),
                "send-test" => send_test = Some(value.trim().to_owned()),
                _ => {
                    flags.insert(setting_name(&name)?, value);
                }
            }
        }
        let url = url.ok_or("--url is required")?;
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "--url must start with http:// or https://, not {url:?}"
            ));
        }
        let mut settings = match vars_file {
            Some(path) => parse_vars(
                &read_file(&path).map_err(|e| format!("cannot read --vars {path}: {e}"))?,
            ),
            None => HashMap::new(),
        };
        settings.extend(flags);
        for name in KNOWN_SETTINGS {
            if !settings.contains_key(*name) {
                if let Some(value) = environment(name) {
                    settings.insert((*name).to_owned(), value);
                }
            }
        }
        Ok(Invocation {
            url,
            settings,
            send_test,
        })
    }
}

/// The Worker's settings the checks use, read from the environment when not given otherwise.
const KNOWN_SETTINGS: &[&str] = &[
    "WECHAT_TOKEN",
    "WECHAT_APPID",
    "WECHAT_AES_KEY",
    "SHOP_TOKEN",
    "SHOP_APPID",
    "SHOP_AES_KEY",
    "PAY_SIGN_KEY",
    "ORDER_WEBHOOK_SECRET",
    "CALLBACK_MAX_SKEW_SECS",
    "ALLOW_UNENCRYPTED_PUSH",
    "ZALO_APP_ID",
    "ZALO_OA_SECRET_KEY",
    "ADMIN_TOKEN",
];

/// `--wechat-token` names `WECHAT_TOKEN`.
fn setting_name(flag: &str) -> Result<String, String> {
    let name = flag.replace('-', "_").to_ascii_uppercase();
    if KNOWN_SETTINGS.contains(&name.as_str()) {
        Ok(name)
    } else {
        Err(format!("unknown option --{flag}"))
    }
}

/// `NAME=value` lines as wrangler reads `.dev.vars`: `#` comments, optional quotes.
fn parse_vars(text: &str) -> HashMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(name, value)| {
            let value = value.trim();
            let unquoted = ['"', '\'']
                .iter()
                .find_map(|q| value.strip_prefix(*q).and_then(|v| v.strip_suffix(*q)))
                .unwrap_or(value);
            (name.trim().to_owned(), unquoted.to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str], file: &str, env: &[(&str, &str)]) -> Result<Invocation, String> {
        let file = file.to_owned();
        Invocation::parse_with(
            args.iter().map(|a| a.to_string()),
            move |_| Ok(file.clone()),
            |name| {
                env.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
            },
        )
    }

    #[test]
    fn flags_win_over_the_file_which_wins_over_the_environment() {
        let invocation = parse(
            &[
                "--url",
                "http://127.0.0.1:8787/",
                "--vars",
                ".dev.vars",
                "--wechat-token=flag",
            ],
            "# comment\nWECHAT_TOKEN=file\nPAY_SIGN_KEY=\"quoted\"\n\nSHOP_TOKEN='single'\n",
            &[
                ("WECHAT_TOKEN", "env"),
                ("ORDER_WEBHOOK_SECRET", "from-env"),
            ],
        )
        .unwrap();
        assert_eq!(invocation.url, "http://127.0.0.1:8787");
        assert_eq!(invocation.send_test, None);
        let get = |n: &str| invocation.settings.get(n).map(String::as_str);
        assert_eq!(get("WECHAT_TOKEN"), Some("flag"));
        assert_eq!(get("PAY_SIGN_KEY"), Some("quoted"));
        assert_eq!(get("SHOP_TOKEN"), Some("single"));
        assert_eq!(get("ORDER_WEBHOOK_SECRET"), Some("from-env"));
    }

    #[test]
    fn send_test_names_a_buyer() {
        let invocation = parse(
            &[
                "--url",
                "http://x",
                "--send-test",
                " oBuyer ",
                "--admin-token",
                "T",
            ],
            "",
            &[],
        )
        .unwrap();
        assert_eq!(invocation.send_test.as_deref(), Some("oBuyer"));
        assert_eq!(
            invocation.settings.get("ADMIN_TOKEN").map(String::as_str),
            Some("T")
        );
        assert!(parse(&["--url", "http://x", "--send-test"], "", &[])
            .unwrap_err()
            .contains("needs a value"));
    }

    #[test]
    fn bad_command_lines_are_explained() {
        assert_eq!(parse(&[], "", &[]).unwrap_err(), "--url is required");
        assert!(parse(&["--url", "ftp://x"], "", &[])
            .unwrap_err()
            .contains("http://"));
        assert!(parse(&["--url"], "", &[])
            .unwrap_err()
            .contains("needs a value"));
        assert!(parse(&["--url", "http://x", "--wechat-tokn", "t"], "", &[])
            .unwrap_err()
            .contains("unknown option --wechat-tokn"));
        assert!(parse(&["http://x"], "", &[])
            .unwrap_err()
            .contains("unexpected"));
    }
}
