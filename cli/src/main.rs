//! `admit`: the local server and the operator commands.

mod cli;
mod demo;
mod inbox;
mod serve;

use admit_shared::app::aws_sdk_config;
use admit_shared::config::Config;
use admit_shared::domain::error::DomainError;
use admit_shared::http::nextinteract;
use admit_shared::ports::clock::SystemClock;
use admit_shared::ports::mail::LocalMailer;
use admit_shared::ports::push::LocalPusher;
use admit_shared::ports::store::dynamodb::{create_table, DynamoStore};
use admit_shared::ports::store::{Store, StoreError};
use admit_shared::records::{Role, Status, User};
use admit_shared::usecases::outbox::{self, Listed, NotReplayed};
use admit_shared::usecases::provision::{self, NewUser};
use admit_shared::App;
use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use cli::{
    ApikeyCommand, Backend, Cli, Command, CompanyCommand, InvitationCommand, InvitationState,
    OutboxCommand, OutboxStatus, QrCommand, SettingsCommand, TableCommand, Target, TeamCommand,
    UserCommand,
};
use serde_json::{json, Value};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

enum Failure {
    /// Bad input: exit status 2.
    Usage(String),
    /// The operation failed: exit status 1.
    Failed(String),
}

impl From<DomainError> for Failure {
    fn from(e: DomainError) -> Self {
        let exception = nextinteract::name(e.kind);
        if !e.kind.is_server_fault() {
            Failure::Usage(format!("{} ({exception})", e.message))
        } else {
            Failure::Failed(format!("{} ({exception})", e.message))
        }
    }
}

impl From<String> for Failure {
    fn from(m: String) -> Self {
        Failure::Usage(m)
    }
}

fn main() -> ExitCode {
    // Arguments are checked before anything else happens: a bad command line opens no store,
    // binds no socket and loads no AWS configuration.
    let cli = match parse(std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) => {
            // Help and --version go to stdout with status 0; errors to stderr with status 2.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    admit_shared::telemetry::init_local();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("admit: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(m)) => {
            eprintln!("admit: {m}\n\nRun `admit --help` for usage.");
            ExitCode::from(2)
        }
        Err(Failure::Failed(m)) => {
            eprintln!("admit: {m}");
            ExitCode::from(1)
        }
    }
}

/// Parses the command line, including the checks clap cannot express on its own.
fn parse<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = Cli::try_parse_from(args)?;
    if let Some((path, backend)) = cli.command.backend() {
        if let Err(m) = backend.target() {
            return Err(usage_error(&path, ErrorKind::ArgumentConflict, m));
        }
    }
    Ok(cli)
}

/// A clap error shown with the usage of the subcommand at `path` (e.g. `["company", "create"]`).
fn usage_error(path: &[&str], kind: ErrorKind, message: String) -> clap::Error {
    let mut root = Cli::command();
    root.build();
    let mut cmd = root;
    for name in path {
        match cmd.find_subcommand(name) {
            Some(sub) => cmd = sub.clone(),
            None => break,
        }
    }
    cmd.error(kind, message)
}

impl Command {
    /// The subcommand path and backend options of an operator command.
    fn backend(&self) -> Option<([&'static str; 2], &Backend)> {
        Some(match self {
            Command::Serve(_) | Command::Table(_) => return None,
            Command::Company(CompanyCommand::Create { backend, .. }) => {
                (["company", "create"], backend)
            }
            Command::Team(TeamCommand::Create { backend, .. }) => (["team", "create"], backend),
            Command::Apikey(ApikeyCommand::Create { backend, .. }) => {
                (["apikey", "create"], backend)
            }
            Command::Apikey(ApikeyCommand::Import { backend, .. }) => {
                (["apikey", "import"], backend)
            }
            Command::User(UserCommand::Create { backend, .. }) => (["user", "create"], backend),
            Command::User(UserCommand::Deactivate { backend, .. }) => {
                (["user", "deactivate"], backend)
            }
            Command::User(UserCommand::Activate { backend, .. }) => (["user", "activate"], backend),
            Command::Qr(QrCommand::Create { backend, .. }) => (["qr", "create"], backend),
            Command::Settings(SettingsCommand::Set { backend, .. }) => {
                (["settings", "set"], backend)
            }
            Command::Invitation(InvitationCommand::List { backend, .. }) => {
                (["invitation", "list"], backend)
            }
            Command::Invitation(InvitationCommand::Resend { backend, .. }) => {
                (["invitation", "resend"], backend)
            }
            Command::Invitation(InvitationCommand::Revoke { backend, .. }) => {
                (["invitation", "revoke"], backend)
            }
            Command::Outbox(c @ OutboxCommand::List { .. }) => (["outbox", "list"], c.backend()),
            Command::Outbox(c @ OutboxCommand::Replay { .. }) => {
                (["outbox", "replay"], c.backend())
            }
        })
    }
}

/// An account as operator commands print it: these fields only (never a secret).
fn user_json(user: &User) -> serde_json::Value {
    json!({
        "userId": user.user_id,
        "email": user.email,
        "firstName": user.first_name,
        "lastName": user.last_name,
        "status": user.status,
        "createdAt": admit_shared::domain::time::format(user.created_at),
    })
}

async fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::Serve(s) => serve_command(&s.listen_on(), &s.data_dir, s.clock_ahead).await,
        Command::Table(TableCommand::Create { table }) => {
            let sdk = aws_sdk_config(&Config::local()).await;
            create_table(&aws_sdk_dynamodb::Client::new(&sdk), &table)
                .await
                .map_err(|e| Failure::Failed(e.to_string()))?;
            print_json(&json!({"table": table, "created": true}));
            Ok(())
        }
        Command::Outbox(c) => {
            let target = existing(c.backend().target()?)?;
            let app = open_backend(target).await?;
            outbox_command(&app, c).await
        }
        command => {
            let Some((path, backend)) = command.backend() else {
                return Err(Failure::Usage("not an operator command".into()));
            };
            let target = match path {
                // A new data directory starts with its first company or account.
                ["company", "create"] | ["user", "create"] => backend.target()?,
                _ => existing(backend.target()?)?,
            };
            let app = open_backend(target).await?;
            let out = operator(&app, command).await?;
            print_json(&out);
            Ok(())
        }
    }
}

fn print_json(v: &Value) {
    say(&serde_json::to_string_pretty(v).unwrap_or_default());
}

/// Writes a line of output. A reader that went away (`admit ... | head`) ends the command
/// quietly, as with any tool on a pipe: no panic, no backtrace, status 0.
fn say(line: &str) {
    if let Err(Closed) = write_line(&mut std::io::stdout().lock(), line) {
        std::process::exit(0);
    }
}

/// The reader of the output is gone.
#[derive(Debug, PartialEq)]
struct Closed;

fn write_line(out: &mut impl std::io::Write, line: &str) -> Result<(), Closed> {
    match writeln!(out, "{line}").and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(Closed),
        // Any other failure to write standard output is as much as a tool can do about it.
        _ => Ok(()),
    }
}

/// `target`, refused when it is a data directory that holds no store: a mistyped `--data-dir`
/// is told so, instead of answering from a new, empty store.
fn existing(target: Target) -> Result<Target, Failure> {
    match &target {
        Target::Embedded(dir) if !dir.join("store").is_dir() => Err(Failure::Failed(format!(
            "{} holds no admit data (no store/ in it): check --data-dir. A new data directory \
             starts with `admit serve`, `admit company create` or `admit user create`.",
            dir.display()
        ))),
        _ => Ok(target),
    }
}

/// Opens the embedded store in `dir`, explaining a data directory held by another process.
fn open_local(dir: &Path, config: Config) -> Result<App, Failure> {
    App::local(dir, config).map_err(|e| match e {
        // The embedded store reports only a held lock file as unavailable.
        StoreError::Unavailable(_) => Failure::Failed(format!(
            "the data directory {dir} is in use by another admit process, usually `admit serve`: \
             it holds the lock file {lock}. The embedded store allows one process at a time, so \
             operator commands cannot run while `admit serve` uses this directory. Stop the \
             server first, or use another --data-dir.",
            dir = dir.display(),
            lock = dir.join("store").join("store.lock").display(),
        )),
        other => Failure::Failed(other.to_string()),
    })
}

async fn open_backend(target: Target) -> Result<App, Failure> {
    match target {
        Target::Embedded(dir) => open_local(&dir, Config::local()),
        Target::Dynamodb(table) => {
            let config = Config {
                table: table.clone(),
                ..Config::local()
            };
            let sdk = aws_sdk_config(&config).await;
            let store: Arc<dyn Store> =
                Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table));
            // Operator commands queue no messages; the local adapters only fill the ports.
            let outbox = std::env::temp_dir().join("admit-cli-outbox");
            Ok(App::new(
                store,
                Arc::new(LocalMailer::new(
                    outbox.join("mail"),
                    config.mail_from.clone(),
                )),
                Arc::new(LocalPusher::new(outbox.join("push"))),
                Arc::new(SystemClock),
                config,
            ))
        }
    }
}

async fn operator(app: &App, command: Command) -> Result<Value, Failure> {
    let out = match command {
        Command::Company(CompanyCommand::Create { name, .. }) => {
            json!(provision::create_company(app, &name).await?)
        }
        Command::Team(TeamCommand::Create {
            company,
            name,
            public,
            ..
        }) => json!(provision::create_team(app, company, &name, public).await?),
        Command::Apikey(ApikeyCommand::Create {
            company, key_type, ..
        }) => {
            let (key, secret) = provision::create_api_key(app, company, key_type.into()).await?;
            with_fields(
                json!(key),
                [
                    ("apiKey", json!(secret)),
                    (
                        "note",
                        json!("The key is shown only now; admit stores only its hash."),
                    ),
                ],
            )
        }
        Command::Apikey(ApikeyCommand::Import {
            company,
            key_type,
            key,
            ..
        }) => json!(provision::import_api_key(app, company, key_type.into(), &key).await?),
        Command::User(UserCommand::Create {
            email,
            password,
            first,
            last,
            company,
            role,
            ..
        }) => {
            // clap refuses --role without --company.
            let membership = company.map(|c| (c, role.map_or(Role::Member, Role::from)));
            let user = provision::create_user(
                app,
                NewUser {
                    email: &email,
                    password: &password,
                    first_name: &first,
                    last_name: &last,
                    membership,
                },
            )
            .await?;
            match membership {
                Some((c, r)) => with_fields(
                    user_json(&user),
                    [("companyId", json!(c)), ("role", json!(r))],
                ),
                None => user_json(&user),
            }
        }
        Command::User(UserCommand::Deactivate { email, .. }) => {
            user_json(&provision::set_user_status(app, &email, Status::Inactive).await?)
        }
        Command::User(UserCommand::Activate { email, .. }) => {
            user_json(&provision::set_user_status(app, &email, Status::Active).await?)
        }
        Command::Qr(QrCommand::Create {
            company,
            code,
            event,
            ..
        }) => json!(provision::create_qr(app, company, &code, event).await?),
        Command::Settings(SettingsCommand::Set {
            company,
            key,
            value,
            ..
        }) => {
            let v = provision::set_setting(app, company, &key, &value).await?;
            json!({"companyId": company, "key": key, "value": v})
        }
        Command::Invitation(c) => invitation_command(app, c).await?,
        Command::Serve(_) | Command::Table(_) | Command::Outbox(_) => {
            return Err(Failure::Usage("not an operator command".into()))
        }
    };
    Ok(out)
}

/// `admit invitation list|resend|revoke`: the admin tools of the platform API, for operators.
async fn invitation_command(app: &App, command: InvitationCommand) -> Result<Value, Failure> {
    use admit_shared::records::InvitationStatus;
    use admit_shared::usecases::platform_invitations as invitations;
    Ok(match command {
        InvitationCommand::List {
            company,
            status,
            limit,
            after,
            ..
        } => {
            let status = status.map(|s| match s {
                InvitationState::Pending => InvitationStatus::Pending,
                InvitationState::Accepted => InvitationStatus::Accepted,
                InvitationState::Expired => InvitationStatus::Expired,
                InvitationState::Revoked => InvitationStatus::Revoked,
            });
            let page = invitations::list_for(
                app,
                company,
                status,
                limit as usize,
                after.as_deref(),
                app.clock.now(),
            )
            .await?;
            json!(page)
        }
        InvitationCommand::Resend { company, email, .. } => {
            let base = app.config.public_url.clone();
            let operator = admit_shared::domain::Caller::default();
            let at = (base.as_str(), &operator, app.clock.now());
            json!(invitations::resend_for(app, company, &email, None, at).await?)
        }
        InvitationCommand::Revoke { company, email, .. } => {
            json!(
                invitations::revoke_for(
                    app,
                    company,
                    &email,
                    None,
                    &Default::default(),
                    app.clock.now(),
                )
                .await?
            )
        }
    })
}

/// `admit outbox list` prints one JSON object a line (never a message's body: it may hold a
/// single-use link); `admit outbox replay` prints the ids it moved back to pending.
async fn outbox_command(app: &App, command: OutboxCommand) -> Result<(), Failure> {
    let store_failed = |e: StoreError| Failure::Failed(format!("the store failed: {e}"));
    match command {
        OutboxCommand::List { status, limit, .. } => {
            let status = status.map(|s| match s {
                OutboxStatus::Pending => Listed::Pending,
                OutboxStatus::Failed => Listed::Failed,
                OutboxStatus::Sent => Listed::Sent,
                OutboxStatus::Skipped => Listed::Skipped,
            });
            let items = outbox::list(app, status, limit as usize)
                .await
                .map_err(store_failed)?;
            for item in &items {
                say(&outbox::summary(item).to_string());
            }
        }
        OutboxCommand::Replay { id: Some(id), .. } => {
            match outbox::replay(app, &id).await.map_err(store_failed)? {
                Ok(()) => print_json(&json!({ "replayed": [id] })),
                Err(NotReplayed::NotFound) => {
                    return Err(Failure::Usage(format!("no outbox message {id}")))
                }
                Err(NotReplayed::NotFailed(status)) => {
                    return Err(Failure::Usage(format!(
                        "outbox message {id} is {status}, not failed: only failed messages are replayed"
                    )))
                }
                Err(NotReplayed::NoBody) => {
                    return Err(Failure::Failed(format!(
                        "outbox message {id} failed before failed messages kept their body: there is nothing to send"
                    )))
                }
            }
        }
        OutboxCommand::Replay { id: None, .. } => {
            let ids = outbox::replay_all_failed(app).await.map_err(store_failed)?;
            print_json(&json!({ "replayed": ids }));
        }
    }
    Ok(())
}

async fn serve_command(
    addr: &str,
    dir: &Path,
    clock_ahead: Option<chrono::Duration>,
) -> Result<(), Failure> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Failure::Failed(format!("cannot listen on {addr}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| Failure::Failed(e.to_string()))?;
    let base = format!("http://{local}");
    let limits = admit_shared::config::Limits::from_lookup(|k| std::env::var(k).ok())
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let config = Config {
        public_url: base.clone(),
        limits,
        ..Config::local()
    };
    let mut app = open_local(dir, config)?;
    if let Some(ahead) = clock_ahead {
        app.clock = Arc::new(admit_shared::ports::clock::AheadClock(ahead));
        println!(
            "The clock runs {} minutes ahead (--clock-ahead).",
            ahead.num_minutes()
        );
    }
    let demo = demo::ensure(&app).await?;
    // The developer inbox only on loopback: it shows every captured email, tokens included.
    let inbox = local.ip().is_loopback().then(|| dir.join("mail"));
    let inbox_url = inbox.as_ref().map(|_| format!("{base}{}", inbox::PATH));
    println!("{}", demo::banner(&base, dir, &demo, inbox_url.as_deref()));
    println!("admit listening on {base}");
    serve::run(Arc::new(app), listener, inbox)
        .await
        .map_err(|e| Failure::Failed(e.to_string()))
}

/// An object with more fields (a value that is no object stays as it is).
fn with_fields<const N: usize>(mut v: Value, fields: [(&str, Value); N]) -> Value {
    if let Some(o) = v.as_object_mut() {
        for (k, f) in fields {
            o.insert(k.to_string(), f);
        }
    }
    v
}

#[cfg(test)]
mod output {
    use super::{write_line, Closed};

    /// A reader that went away.
    struct Gone;

    impl std::io::Write for Gone {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_is_told_apart_from_a_written_line() {
        assert_eq!(write_line(&mut Gone, "x"), Err(Closed));
        let mut kept = Vec::new();
        assert_eq!(write_line(&mut kept, "x"), Ok(()));
        assert_eq!(kept, b"x\n");
    }
}
