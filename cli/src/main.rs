//! `admit`: the local server and the operator commands.

mod args;
mod serve;

use admit_shared::app::aws_sdk_config;
use admit_shared::config::Config;
use admit_shared::domain::error::DomainError;
use admit_shared::domain::Id;
use admit_shared::http::nextinteract;
use admit_shared::ports::clock::SystemClock;
use admit_shared::ports::mail::LocalMailer;
use admit_shared::ports::push::LocalPusher;
use admit_shared::ports::store::dynamodb::{create_table, DynamoStore};
use admit_shared::ports::store::Store;
use admit_shared::records::{ApiKeyType, Role};
use admit_shared::usecases::provision::{self, NewUser};
use admit_shared::App;
use args::Args;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

const USAGE: &str = "\
admit: bring people into companies.

Local server (embedded store, email and push captured under the data directory):
  admit serve [--addr 127.0.0.1:3000] [--data-dir .admit]

Operator commands (each prints one JSON object on stdout):
  admit company create --name NAME
  admit team create --company ID --name NAME [--public]
  admit apikey create --company ID --type admin|app        (the key is printed once)
  admit apikey import --company ID --type admin|app --key K (a key the company already uses)
  admit user create --email E --password P --first F --last L [--company ID --role member|rep|admin]
  admit qr create --company ID --code CODE [--event ID]
  admit settings set --company ID KEY VALUE
  admit table create --table NAME                         (DynamoDB emulators; SAM creates it in AWS)

Backends for operator commands:
  --store embedded --data-dir DIR   (default; DIR defaults to .admit)
  --store dynamodb --table NAME     (AWS credentials, region and AWS_ENDPOINT_URL as usual)

Exit status: 0 done, 1 the service failed, 2 bad input.";

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
    admit_shared::telemetry::init_local();
    let raw: Vec<String> = std::env::args().skip(1).collect();
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
    match runtime.block_on(run(raw)) {
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

async fn run(raw: Vec<String>) -> Result<(), Failure> {
    let mut args = Args::parse(raw)?;
    if args.has("--help") || args.has("-h") || args.words.is_empty() {
        println!("{USAGE}");
        return Ok(());
    }
    let words = args.words.clone();
    match words
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["serve"] => serve_command(args).await,
        ["table", "create"] => {
            let table = args.req("table")?;
            args.finish()?;
            let sdk = aws_sdk_config(&Config::local()).await;
            create_table(&aws_sdk_dynamodb::Client::new(&sdk), &table)
                .await
                .map_err(|e| Failure::Failed(e.to_string()))?;
            print_json(&json!({"table": table, "created": true}));
            Ok(())
        }
        [noun, verb, rest @ ..] => {
            let app = backend(&mut args).await?;
            let out = operator(&app, noun, verb, rest, args).await?;
            print_json(&out);
            Ok(())
        }
        _ => Err(Failure::Usage(format!(
            "unknown command `{}`",
            words.join(" ")
        ))),
    }
}

fn print_json(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

async fn backend(args: &mut Args) -> Result<App, Failure> {
    let store = args.opt("store").unwrap_or_else(|| "embedded".into());
    match store.as_str() {
        "embedded" => {
            let dir = PathBuf::from(args.opt("data-dir").unwrap_or_else(|| ".admit".into()));
            App::local(&dir, Config::local()).map_err(|e| Failure::Failed(e.to_string()))
        }
        "dynamodb" => {
            let table = args.req("table")?;
            let config = Config {
                table: table.clone(),
                ..Config::local()
            };
            let sdk = aws_sdk_config(&config).await;
            let store: Arc<dyn Store> =
                Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table));
            // Operator commands queue no messages; the local adapters only fill the ports.
            let outbox = std::env::temp_dir().join("admit-cli-outbox");
            let app = App::new(
                store,
                Arc::new(LocalMailer::new(
                    outbox.join("mail"),
                    config.mail_from.clone(),
                )),
                Arc::new(LocalPusher::new(outbox.join("push"))),
                Arc::new(SystemClock),
                config,
            );
            Ok(app)
        }
        other => Err(Failure::Usage(format!(
            "--store is embedded or dynamodb, not {other}"
        ))),
    }
}

fn key_type(s: &str) -> Result<ApiKeyType, String> {
    match s {
        "admin" => Ok(ApiKeyType::Admin),
        "app" => Ok(ApiKeyType::App),
        _ => Err(format!("--type is admin or app, not {s}")),
    }
}

fn role(s: &str) -> Result<Role, String> {
    match s {
        "member" => Ok(Role::Member),
        "rep" => Ok(Role::Rep),
        "admin" => Ok(Role::Admin),
        _ => Err(format!("--role is member, rep or admin, not {s}")),
    }
}

async fn operator(
    app: &App,
    noun: &str,
    verb: &str,
    rest: &[&str],
    mut args: Args,
) -> Result<Value, Failure> {
    let no_more = |rest: &[&str]| -> Result<(), Failure> {
        match rest.first() {
            Some(w) => Err(Failure::Usage(format!("unexpected argument `{w}`"))),
            None => Ok(()),
        }
    };
    let out = match (noun, verb) {
        ("company", "create") => {
            no_more(rest)?;
            let name = args.req("name")?;
            args.finish()?;
            json!(provision::create_company(app, &name).await?)
        }
        ("team", "create") => {
            no_more(rest)?;
            let company: Id = args.req_parsed("company")?;
            let name = args.req("name")?;
            let public = args.has("--public");
            args.finish()?;
            json!(provision::create_team(app, company, &name, public).await?)
        }
        ("apikey", "create") => {
            no_more(rest)?;
            let company: Id = args.req_parsed("company")?;
            let key_type = key_type(&args.req("type")?)?;
            args.finish()?;
            let (key, secret) = provision::create_api_key(app, company, key_type).await?;
            let mut v = json!(key);
            v["apiKey"] = json!(secret);
            v["note"] = json!("The key is shown only now; admit stores only its hash.");
            v
        }
        ("apikey", "import") => {
            no_more(rest)?;
            let company: Id = args.req_parsed("company")?;
            let key_type = key_type(&args.req("type")?)?;
            let secret = args.req("key")?;
            args.finish()?;
            json!(provision::import_api_key(app, company, key_type, &secret).await?)
        }
        ("user", "create") => {
            no_more(rest)?;
            let email = args.req("email")?;
            let password = args.req("password")?;
            let first = args.req("first")?;
            let last = args.req("last")?;
            let company: Option<Id> = args.parsed("company")?;
            let role = args.opt("role").map(|r| role(&r)).transpose()?;
            args.finish()?;
            let membership = match (company, role) {
                (Some(c), r) => Some((c, r.unwrap_or(Role::Member))),
                (None, Some(_)) => return Err(Failure::Usage("--role needs --company".into())),
                (None, None) => None,
            };
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
            let mut v = json!(user);
            if let Some(m) = v.as_object_mut() {
                m.remove("passwordHash");
                m.remove("failedLogins");
            }
            if let Some((c, r)) = membership {
                v["companyId"] = json!(c);
                v["role"] = json!(r);
            }
            v
        }
        ("qr", "create") => {
            no_more(rest)?;
            let company: Id = args.req_parsed("company")?;
            let code = args.req("code")?;
            let event: Option<Id> = args.parsed("event")?;
            args.finish()?;
            json!(provision::create_qr(app, company, &code, event).await?)
        }
        ("settings", "set") => {
            let company: Id = args.req_parsed("company")?;
            args.finish()?;
            let [key, value] = rest else {
                return Err(Failure::Usage("settings set takes KEY VALUE".into()));
            };
            let v = provision::set_setting(app, company, key, value).await?;
            json!({"companyId": company, "key": key, "value": v})
        }
        _ => return Err(Failure::Usage(format!("unknown command `{noun} {verb}`"))),
    };
    Ok(out)
}

async fn serve_command(mut args: Args) -> Result<(), Failure> {
    let addr = args.opt("addr").unwrap_or_else(|| "127.0.0.1:3000".into());
    let dir = PathBuf::from(args.opt("data-dir").unwrap_or_else(|| ".admit".into()));
    args.finish()?;
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| Failure::Failed(format!("cannot listen on {addr}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| Failure::Failed(e.to_string()))?;
    let base = format!("http://{local}");
    let config = Config {
        public_url: base.clone(),
        ..Config::local()
    };
    let app = App::local(&dir, config).map_err(|e| Failure::Failed(e.to_string()))?;
    let demo = demo::ensure(&app).await?;
    println!("{}", demo::banner(&base, &dir, &demo));
    println!("admit listening on {base}");
    serve::run(Arc::new(app), listener)
        .await
        .map_err(|e| Failure::Failed(e.to_string()))
}

mod demo;
