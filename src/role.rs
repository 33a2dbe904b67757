//! Who may do what on the admin API: the three roles, and the staff tokens that carry them
//! (`STAFF_TOKENS`).

/// A caller's role, least to most privileged: each may do everything the one before may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Reads the queue, tickets, orders, complaints and stats; replies and acts on tickets.
    Agent,
    /// Also resolves complaints, edits orders, replays, reads raw events, sends any ZNS.
    Lead,
    /// The bearer of `ADMIN_TOKEN`: also edits the rules.
    Owner,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Lead => "lead",
            Role::Owner => "owner",
        }
    }
}

/// One `STAFF_TOKENS` entry: `name:token[:role][:wecom=<userid>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffToken {
    pub name: String,
    pub token: String,
    pub role: Role,
    /// The agent's WeCom userid (`wecom=`), for routing WeCom 客服 conversations to them.
    pub wecom_userid: Option<String>,
}

/// Why `STAFF_TOKENS` cannot be used. Never quotes a part of the entry: a token with a colon in
/// it would otherwise be half written to the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadStaffToken {
    /// The entry's name.
    pub name: String,
}

impl std::fmt::Display for BadStaffToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "STAFF_TOKENS (the entry of {}: after the token only a role, agent or lead, and wecom=<userid> may follow)",
            self.name
        )
    }
}

/// `STAFF_TOKENS` as read: its entries, or why it cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffTokens(pub Result<Vec<StaffToken>, BadStaffToken>);

impl Default for StaffTokens {
    fn default() -> Self {
        StaffTokens(Ok(Vec::new()))
    }
}

/// Comma-separated entries. An entry without both a name and a token is ignored (a token nobody
/// can name would sign in anonymously); an entry with an unknown role, or two roles, refuses the
/// whole setting, so nobody gets more or less than the merchant meant.
pub fn parse_staff_tokens(value: &str) -> Result<Vec<StaffToken>, BadStaffToken> {
    let mut tokens = Vec::new();
    for entry in value.split(',') {
        let mut parts = entry.split(':').map(str::trim);
        let (Some(name), Some(token)) = (parts.next(), parts.next()) else {
            continue;
        };
        if name.is_empty() || token.is_empty() {
            continue;
        }
        let bad = || BadStaffToken { name: name.into() };
        let (mut role, mut wecom_userid) = (None, None);
        for part in parts {
            match (part, part.strip_prefix("wecom=")) {
                (_, Some(userid)) if !userid.is_empty() && wecom_userid.is_none() => {
                    wecom_userid = Some(userid.to_owned())
                }
                ("agent", None) if role.is_none() => role = Some(Role::Agent),
                ("lead", None) if role.is_none() => role = Some(Role::Lead),
                _ => return Err(bad()),
            }
        }
        tokens.push(StaffToken {
            name: name.into(),
            token: token.into(),
            role: role.unwrap_or(Role::Agent),
            wecom_userid,
        });
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staff(name: &str, token: &str, role: Role, wecom: Option<&str>) -> StaffToken {
        StaffToken {
            name: name.into(),
            token: token.into(),
            role,
            wecom_userid: wecom.map(str::to_owned),
        }
    }

    #[test]
    fn roles_are_ordered() {
        assert!(Role::Agent < Role::Lead && Role::Lead < Role::Owner);
        assert_eq!(Role::Lead.name(), "lead");
    }

    #[test]
    fn entries_carry_a_role_and_a_wecom_userid() {
        assert_eq!(
            parse_staff_tokens(
                " anna:tok-a , bob:tok-b:lead,cai:tok-c:wecom=CaiW:lead,dan:tok-d:agent:wecom=d,:nameless,noname:, junk"
            ),
            Ok(vec![
                staff("anna", "tok-a", Role::Agent, None),
                staff("bob", "tok-b", Role::Lead, None),
                staff("cai", "tok-c", Role::Lead, Some("CaiW")),
                staff("dan", "tok-d", Role::Agent, Some("d")),
            ])
        );
        assert_eq!(parse_staff_tokens(""), Ok(vec![]));
    }

    #[test]
    fn an_unknown_role_refuses_the_setting_without_quoting_it() {
        for bad in [
            "anna:tok-a,bob:tok:b",
            "bob:tok-b:owner",
            "bob:tok-b:Lead",
            "bob:tok-b:lead:agent",
            "bob:tok-b:wecom=",
            "bob:tok-b:wecom=a:wecom=b",
            "bob:tok-b:",
        ] {
            let refused = parse_staff_tokens(bad).unwrap_err();
            assert_eq!(refused.name, "bob", "{bad}");
            let text = refused.to_string();
            assert!(text.starts_with("STAFF_TOKENS"), "{text}");
            assert!(!text.contains("tok-") && !text.contains("tok:"), "{text}");
        }
    }
}
