//! The command line: every subcommand and option of `admit`, parsed and checked by clap before
//! anything is opened (a store, a socket or the AWS configuration).

use admit_shared::domain::Id;
use admit_shared::records::{ApiKeyType, Role};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const AFTER_HELP: &str = "\
Operator commands print one JSON object on stdout. They work on the embedded store in
--data-dir (default .admit) or on a DynamoDB table (--store dynamodb --table NAME, with AWS
credentials, region and AWS_ENDPOINT_URL as usual). The embedded store takes a lock file:
stop `admit serve` before running operator commands on its data directory, or use another
--data-dir.

Exit status: 0 done, 1 the service failed, 2 bad input.";

/// admit: bring people into companies.
#[derive(Debug, Parser)]
#[command(
    name = "admit",
    version,
    after_help = AFTER_HELP,
    arg_required_else_help = true,
    subcommand_value_name = "COMMAND"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the local server: every endpoint, on the embedded store.
    ///
    /// Email and push are captured under the data directory. An empty data directory gets a
    /// demo company, user and API keys, and the server prints curl lines to try them.
    Serve(Serve),
    /// Companies.
    #[command(subcommand)]
    Company(CompanyCommand),
    /// Teams of a company.
    #[command(subcommand)]
    Team(TeamCommand),
    /// API keys of a company.
    #[command(subcommand)]
    Apikey(ApikeyCommand),
    /// User accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// QR access codes of a company.
    #[command(subcommand)]
    Qr(QrCommand),
    /// Company settings.
    #[command(subcommand)]
    Settings(SettingsCommand),
    /// The DynamoDB table (for emulators; SAM creates the table of a stage in AWS).
    #[command(subcommand)]
    Table(TableCommand),
    /// Queued emails and pushes: list them, replay failed ones.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Invitations of a company: list, resend, revoke.
    #[command(subcommand)]
    Invitation(InvitationCommand),
}

#[derive(Debug, Subcommand)]
pub enum InvitationCommand {
    /// List a company's invitations by address, with their status and history.
    List {
        /// The company's id.
        #[arg(long, value_name = "ID")]
        company: Id,
        /// Only invitations with this status.
        #[arg(long, value_enum)]
        status: Option<InvitationState>,
        /// At most this many invitations read (1 to 100).
        #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100))]
        limit: u32,
        /// Start after this address (the previous page's `NextAfter`).
        #[arg(long, value_name = "EMAIL")]
        after: Option<String>,
        #[command(flatten)]
        backend: Backend,
    },
    /// Send a pending or expired invitation again: a new link (the old one stops working) and
    /// a new expiry; at most three sends an hour.
    Resend {
        /// The company's id.
        #[arg(long, value_name = "ID")]
        company: Id,
        /// The invited address.
        #[arg(long, value_name = "EMAIL")]
        email: String,
        #[command(flatten)]
        backend: Backend,
    },
    /// Revoke a pending invitation: its link stops working at once.
    Revoke {
        /// The company's id.
        #[arg(long, value_name = "ID")]
        company: Id,
        /// The invited address.
        #[arg(long, value_name = "EMAIL")]
        email: String,
        #[command(flatten)]
        backend: Backend,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InvitationState {
    Pending,
    Accepted,
    Expired,
    Revoked,
}

#[derive(Debug, Args)]
pub struct Serve {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:3000")]
    pub addr: String,
    /// Port to listen on, on loopback: `--port 3100` is `--addr 127.0.0.1:3100`.
    #[arg(long, value_name = "PORT", conflicts_with = "addr")]
    pub port: Option<u16>,
    /// Data directory: the embedded store, captured email (mail/) and push (push/).
    #[arg(long, value_name = "DIR", default_value = ".admit")]
    pub data_dir: PathBuf,
    /// Run with the clock set ahead by this long (`90m`, `2h`, `8d`), to try expiries locally:
    /// invitation, verification and reset links, temporary access, lockouts.
    #[arg(long, value_name = "DURATION", value_parser = parse_ahead)]
    pub clock_ahead: Option<chrono::Duration>,
}

impl Serve {
    /// Where to listen: `--port` on loopback, else `--addr`.
    pub fn listen_on(&self) -> String {
        match self.port {
            Some(port) => format!("127.0.0.1:{port}"),
            None => self.addr.clone(),
        }
    }
}

/// A duration as `--clock-ahead` takes it: a whole number and a unit, `m`, `h` or `d`.
pub fn parse_ahead(raw: &str) -> Result<chrono::Duration, String> {
    let raw = raw.trim();
    let unit = raw.chars().last().unwrap_or(' ');
    let n: i64 = raw
        .strip_suffix(unit)
        .unwrap_or_default()
        .parse()
        .map_err(|_| format!("`{raw}` is not a duration such as 90m, 2h or 8d"))?;
    let d = match unit {
        'm' => chrono::Duration::try_minutes(n),
        'h' => chrono::Duration::try_hours(n),
        'd' => chrono::Duration::try_days(n),
        _ => None,
    };
    d.filter(|d| *d >= chrono::Duration::zero() && *d <= chrono::Duration::days(3650))
        .ok_or_else(|| format!("`{raw}` is not a duration from 0 to 3650d such as 90m, 2h or 8d"))
}

/// Where an operator command reads and writes.
#[derive(Debug, Args)]
pub struct Backend {
    /// The store to work on.
    #[arg(long, value_enum, default_value_t = StoreKind::Embedded)]
    pub store: StoreKind,
    /// Data directory of the embedded store [default: .admit].
    #[arg(long, value_name = "DIR", conflicts_with = "table")]
    pub data_dir: Option<PathBuf>,
    /// DynamoDB table (with --store dynamodb), e.g. admit-dev.
    #[arg(long, value_name = "NAME", required_if_eq("store", "dynamodb"))]
    pub table: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StoreKind {
    /// The local embedded store in --data-dir.
    Embedded,
    /// A DynamoDB table (--table).
    Dynamodb,
}

/// A backend whose options have been checked.
#[derive(Debug, PartialEq, Eq)]
pub enum Target {
    Embedded(PathBuf),
    Dynamodb(String),
}

impl Backend {
    /// The store to open; `Err` is the message of a usage error (exit status 2).
    pub fn target(&self) -> Result<Target, String> {
        match (self.store, &self.table) {
            (StoreKind::Embedded, Some(_)) => {
                Err("--table works only with --store dynamodb".to_string())
            }
            (StoreKind::Embedded, None) => Ok(Target::Embedded(
                self.data_dir.clone().unwrap_or_else(|| ".admit".into()),
            )),
            (StoreKind::Dynamodb, Some(table)) => Ok(Target::Dynamodb(table.clone())),
            // clap requires --table with --store dynamodb; kept for completeness.
            (StoreKind::Dynamodb, None) => Err("--store dynamodb needs --table".to_string()),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum CompanyCommand {
    /// Create a company.
    Create {
        /// Its name.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        backend: Backend,
    },
}

#[derive(Debug, Subcommand)]
pub enum TeamCommand {
    /// Create a team in a company.
    Create {
        /// The company's id.
        #[arg(long, value_name = "ID")]
        company: Id,
        /// The team's name.
        #[arg(long)]
        name: String,
        /// Anyone may join it (listed by /rest/company/teams/public).
        #[arg(long)]
        public: bool,
        #[command(flatten)]
        backend: Backend,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeyType {
    /// For the company's back office (membership calls).
    Admin,
    /// For the company's apps (self-registration, public teams).
    App,
}

impl From<KeyType> for ApiKeyType {
    fn from(k: KeyType) -> Self {
        match k {
            KeyType::Admin => ApiKeyType::Admin,
            KeyType::App => ApiKeyType::App,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum ApikeyCommand {
    /// Create a key; it is printed once (admit stores only its hash).
    Create {
        /// The company's id.
        #[arg(long, value_name = "ID")]
        company: Id,
        /// What the key is for.
        #[arg(long = "type", value_enum, value_name = "TYPE")]
        key_type: KeyType,
        #[command(flatten)]
        backend: Backend,
    },
    /// Import a key the company already uses, so its apps keep working.
    Import {
        /// The company's id.
        #[arg(long, value_name = "ID")]
        company: Id,
        /// What the key is for.
        #[arg(long = "type", value_enum, value_name = "TYPE")]
        key_type: KeyType,
        /// The key (8 to 128 printable ASCII characters).
        #[arg(long, value_name = "K")]
        key: String,
        #[command(flatten)]
        backend: Backend,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MemberRole {
    Member,
    Rep,
    Admin,
}

impl From<MemberRole> for Role {
    fn from(r: MemberRole) -> Self {
        match r {
            MemberRole::Member => Role::Member,
            MemberRole::Rep => Role::Rep,
            MemberRole::Admin => Role::Admin,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an active account, optionally a member of a company.
    Create {
        /// Email address (the login).
        #[arg(long, value_name = "E")]
        email: String,
        /// Password.
        #[arg(long, value_name = "P")]
        password: String,
        /// First name.
        #[arg(long, value_name = "F")]
        first: String,
        /// Last name.
        #[arg(long, value_name = "L")]
        last: String,
        /// Make the user a member of this company.
        #[arg(long, value_name = "ID")]
        company: Option<Id>,
        /// Role in the company [default: member].
        #[arg(long, value_enum, requires = "company")]
        role: Option<MemberRole>,
        #[command(flatten)]
        backend: Backend,
    },
    /// Deactivate an account: its sessions are revoked at once and it can no longer log in.
    Deactivate {
        /// Email address of the account.
        #[arg(long, value_name = "E")]
        email: String,
        #[command(flatten)]
        backend: Backend,
    },
    /// Activate an account again (its revoked sessions stay revoked).
    Activate {
        /// Email address of the account.
        #[arg(long, value_name = "E")]
        email: String,
        #[command(flatten)]
        backend: Backend,
    },
}

#[derive(Debug, Subcommand)]
pub enum QrCommand {
    /// Create a QR access code.
    Create {
        /// The company's id.
        #[arg(long, value_name = "ID")]
        company: Id,
        /// The code (unique in the company, case-insensitive).
        #[arg(long)]
        code: String,
        /// An event the code is for.
        #[arg(long, value_name = "ID")]
        event: Option<Id>,
        #[command(flatten)]
        backend: Backend,
    },
}

#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// Set a company setting: teamAssignmentMessage, allowedEmailDomains, usersMayInvite,
    /// csrfRequired, invitationDays, professionTeams, or the company's own hourly limits
    /// senderPerHour, companyPerHour and registrationsPerHour.
    Set {
        /// The company's id.
        #[arg(long, value_name = "ID")]
        company: Id,
        /// The setting.
        key: String,
        /// Its value.
        #[arg(allow_hyphen_values = true)]
        value: String,
        #[command(flatten)]
        backend: Backend,
    },
}

#[derive(Debug, Subcommand)]
pub enum TableCommand {
    /// Create the table with its indexes, stream and TTL (on an emulator, through
    /// AWS_ENDPOINT_URL).
    Create {
        /// The table's name.
        #[arg(long, value_name = "NAME")]
        table: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutboxStatus {
    /// Waiting to be sent (or being retried).
    Pending,
    /// Failed for good; kept with its body for replay.
    Failed,
    /// Sent (the last 30 days).
    Sent,
    /// Not sent because there was nothing to send (an invitation no longer pending).
    Skipped,
}

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// List messages, one JSON object a line: id, kind, status, attempts, lastError,
    /// createdAt (never a message's body).
    List {
        /// Only messages with this status [default: all: failed, pending, then sent and
        /// skipped, newest first].
        #[arg(long, value_enum)]
        status: Option<OutboxStatus>,
        /// At most this many lines.
        #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        limit: u32,
        #[command(flatten)]
        backend: Backend,
    },
    /// Move failed messages back to pending so the dispatcher sends them (the next sweep in
    /// the cloud, within 5 minutes; at once under `admit serve`). Anything not failed is
    /// refused.
    #[command(group(clap::ArgGroup::new("which").required(true).args(["id", "all_failed"])))]
    Replay {
        /// The message's id (from `admit outbox list --status failed`).
        #[arg(long, value_name = "ID")]
        id: Option<String>,
        /// Every failed message.
        #[arg(long)]
        all_failed: bool,
        #[command(flatten)]
        backend: Backend,
    },
}

impl OutboxCommand {
    pub fn backend(&self) -> &Backend {
        match self {
            OutboxCommand::List { backend, .. } | OutboxCommand::Replay { backend, .. } => backend,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("admit").chain(args.iter().copied()))
    }

    fn error(args: &[&str]) -> clap::Error {
        parse(args).expect_err("should be refused")
    }

    #[test]
    fn the_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn version_prints_the_crate_version() {
        let e = error(&["--version"]);
        assert_eq!(e.kind(), ErrorKind::DisplayVersion);
        assert_eq!(e.exit_code(), 0);
        assert_eq!(
            e.to_string().trim(),
            format!("admit {}", env!("CARGO_PKG_VERSION"))
        );
    }

    #[test]
    fn every_subcommand_has_help() {
        for path in [
            &["serve"][..],
            &["company", "create"],
            &["team", "create"],
            &["apikey", "create"],
            &["apikey", "import"],
            &["user", "create"],
            &["qr", "create"],
            &["settings", "set"],
            &["table", "create"],
            &["outbox", "list"],
            &["outbox", "replay"],
        ] {
            let mut args = path.to_vec();
            args.push("--help");
            let e = error(&args);
            assert_eq!(e.kind(), ErrorKind::DisplayHelp, "{path:?}");
            assert_eq!(e.exit_code(), 0);
            let help = e.to_string();
            assert!(
                help.contains(&format!("Usage: admit {}", path.join(" "))),
                "{path:?}: {help}"
            );
        }
        let help = error(&["user", "create", "--help"]).to_string();
        for option in [
            "--email",
            "--password",
            "--first",
            "--last",
            "--role",
            "--store",
        ] {
            assert!(help.contains(option), "{option}: {help}");
        }
    }

    #[test]
    fn a_misspelt_flag_gets_a_suggestion() {
        let e = error(&["company", "create", "--nmae", "Acme"]);
        assert_eq!(e.kind(), ErrorKind::UnknownArgument);
        assert_eq!(e.exit_code(), 2);
        let text = e.to_string();
        assert!(text.contains("--nmae"), "{text}");
        assert!(text.contains("similar argument exists: '--name'"), "{text}");

        let text = error(&["compnay", "create"]).to_string();
        assert!(
            text.contains("similar subcommand exists: 'company'"),
            "{text}"
        );
    }

    #[test]
    fn bad_or_missing_arguments_exit_2_with_a_reason() {
        let cases: &[(&[&str], ErrorKind, &str)] = &[
            (
                &["company", "create"],
                ErrorKind::MissingRequiredArgument,
                "--name <NAME>",
            ),
            (
                &["team", "create", "--company", "abc", "--name", "x"],
                ErrorKind::ValueValidation,
                "`abc` is not an id",
            ),
            (
                &["apikey", "create", "--company", "1", "--type", "root"],
                ErrorKind::InvalidValue,
                "[possible values: admin, app]",
            ),
            (
                &[
                    "user",
                    "create",
                    "--email",
                    "a@b.co",
                    "--password",
                    "p",
                    "--first",
                    "A",
                    "--last",
                    "B",
                    "--role",
                    "rep",
                ],
                ErrorKind::MissingRequiredArgument,
                "--company <ID>",
            ),
            (
                &["company", "create", "--name", "X", "--store", "dynamodb"],
                ErrorKind::MissingRequiredArgument,
                "--table <NAME>",
            ),
            (
                &["company", "create", "--name", "X", "--store", "sqlite"],
                ErrorKind::InvalidValue,
                "[possible values: embedded, dynamodb]",
            ),
            (
                &["settings", "set", "--company", "1", "usersMayInvite"],
                ErrorKind::MissingRequiredArgument,
                "<VALUE>",
            ),
            (
                &["company", "create", "--name", "X", "--name", "Y"],
                ErrorKind::ArgumentConflict,
                "--name",
            ),
            (
                &["frobnicate", "now"],
                ErrorKind::InvalidSubcommand,
                "frobnicate",
            ),
        ];
        for (args, kind, says) in cases {
            let e = error(args);
            assert_eq!(e.kind(), *kind, "{args:?}: {e}");
            assert_eq!(e.exit_code(), 2, "{args:?}");
            assert!(e.to_string().contains(says), "{args:?}: {e}");
        }
    }

    #[test]
    fn operator_commands_keep_their_options() {
        let cli = parse(&[
            "user",
            "create",
            "--email",
            "rep@acme.com",
            "--password=Rep-pass-2026",
            "--first",
            "Rita",
            "--last",
            "Rep",
            "--company",
            "3",
            "--role",
            "rep",
            "--data-dir",
            "/tmp/x",
        ])
        .expect("parses");
        let Command::User(UserCommand::Create {
            email,
            password,
            company,
            role,
            backend,
            ..
        }) = cli.command
        else {
            panic!("not user create");
        };
        assert_eq!(email, "rep@acme.com");
        assert_eq!(password, "Rep-pass-2026");
        assert_eq!(company, Some("3".parse().unwrap()));
        assert_eq!(role, Some(MemberRole::Rep));
        assert_eq!(backend.target(), Ok(Target::Embedded("/tmp/x".into())));

        let cli = parse(&[
            "settings",
            "set",
            "--company",
            "1",
            "teamAssignmentMessage",
            "-- welcome --",
            "--store",
            "dynamodb",
            "--table",
            "admit-dev",
        ])
        .expect("parses");
        let Command::Settings(SettingsCommand::Set {
            key,
            value,
            backend,
            ..
        }) = cli.command
        else {
            panic!("not settings set");
        };
        assert_eq!(
            (key.as_str(), value.as_str()),
            ("teamAssignmentMessage", "-- welcome --")
        );
        assert_eq!(backend.target(), Ok(Target::Dynamodb("admit-dev".into())));

        let cli = parse(&["serve"]).expect("parses");
        let Command::Serve(serve) = cli.command else {
            panic!("not serve");
        };
        assert_eq!(serve.listen_on(), "127.0.0.1:3000");
        assert_eq!(serve.data_dir, PathBuf::from(".admit"));

        let cli = parse(&["serve", "--port", "3100"]).expect("--port parses");
        let Command::Serve(serve) = cli.command else {
            panic!("not serve");
        };
        assert_eq!(serve.listen_on(), "127.0.0.1:3100");
        assert!(parse(&["serve", "--port", "3100", "--addr", "0.0.0.0:1"]).is_err());
        assert!(parse(&["serve", "--port", "http"]).is_err());
    }

    #[test]
    fn the_backend_options_go_together() {
        let backend = |args: &[&str]| {
            let mut all = vec!["company", "create", "--name", "X"];
            all.extend(args);
            match parse(&all).map(|c| c.command) {
                Ok(Command::Company(CompanyCommand::Create { backend, .. })) => {
                    Ok(backend.target())
                }
                Ok(other) => panic!("{other:?}"),
                Err(e) => Err(e.kind()),
            }
        };
        assert_eq!(backend(&[]), Ok(Ok(Target::Embedded(".admit".into()))));
        assert_eq!(
            backend(&["--table", "t"]),
            Ok(Err("--table works only with --store dynamodb".into()))
        );
        assert_eq!(
            backend(&["--store", "dynamodb", "--table", "t", "--data-dir", "d"]),
            Err(ErrorKind::ArgumentConflict)
        );
    }

    #[test]
    fn outbox_commands_parse_and_replay_needs_one_target() {
        let cli = parse(&["outbox", "list", "--status", "failed", "--limit", "5"]).expect("parses");
        let Command::Outbox(OutboxCommand::List {
            status,
            limit,
            backend,
        }) = cli.command
        else {
            panic!("not outbox list");
        };
        assert_eq!((status, limit), (Some(OutboxStatus::Failed), 5));
        assert_eq!(backend.target(), Ok(Target::Embedded(".admit".into())));
        let cli =
            parse(&["outbox", "list", "--store", "dynamodb", "--table", "t"]).expect("parses");
        let Command::Outbox(OutboxCommand::List { status, limit, .. }) = cli.command else {
            panic!("not outbox list");
        };
        assert_eq!((status, limit), (None, 100));

        let cli = parse(&["outbox", "replay", "--id", "abc"]).expect("parses");
        let Command::Outbox(OutboxCommand::Replay { id, all_failed, .. }) = cli.command else {
            panic!("not outbox replay");
        };
        assert_eq!((id.as_deref(), all_failed), (Some("abc"), false));
        assert!(parse(&["outbox", "replay", "--all-failed"]).is_ok());

        let cases: &[(&[&str], ErrorKind)] = &[
            (&["outbox", "replay"], ErrorKind::MissingRequiredArgument),
            (
                &["outbox", "replay", "--id", "a", "--all-failed"],
                ErrorKind::ArgumentConflict,
            ),
            (
                &["outbox", "list", "--status", "lost"],
                ErrorKind::InvalidValue,
            ),
            (
                &["outbox", "list", "--limit", "0"],
                ErrorKind::ValueValidation,
            ),
        ];
        for (args, kind) in cases {
            let e = error(args);
            assert_eq!(e.kind(), *kind, "{args:?}: {e}");
            assert_eq!(e.exit_code(), 2, "{args:?}");
        }
    }
}
