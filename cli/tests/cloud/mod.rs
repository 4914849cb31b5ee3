//! What the tests that run the function binaries as Lambda does share: a table on an AWS
//! emulator with a company and its admin, made with the operator commands, and raw calls to
//! the emulator.
#![allow(dead_code, reason = "shared by two test crates, each using a part")]

use admit_tests::http_request;
use serde_json::Value;
use std::process::Command;

pub const PASSWORD: &str = "Lambda-Emulator-1";

/// The `admit` binary with the AWS settings of an emulator at `endpoint`.
pub fn admit_on(endpoint: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_admit"));
    c.env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    c
}

/// A new table on the emulator: company "Lambda Co" and its admin (a verified address).
pub struct World {
    /// A fresh id naming this run's table and addresses.
    pub id: String,
    pub table: String,
    pub company: String,
    pub admin: String,
}

impl World {
    pub fn new(endpoint: &str, tag: &str) -> World {
        let id = admit_shared::domain::secrets::random_hex_id()[..10].to_string();
        let table = format!("admit-{tag}-{id}");
        let status = admit_on(endpoint)
            .args(["table", "create", "--table", &table])
            .status()
            .unwrap();
        assert!(status.success(), "admit table create on {endpoint}");
        let company = admit(
            endpoint,
            &table,
            &["company", "create", "--name", "Lambda Co"],
        );
        let company = company["companyId"]
            .as_u64()
            .expect("company id")
            .to_string();
        let admin = format!("admin-{id}@lambda.example");
        admit(
            endpoint,
            &table,
            &[
                "user",
                "create",
                "--email",
                &admin,
                "--password",
                PASSWORD,
                "--first",
                "Ada",
                "--last",
                "Admin",
                "--company",
                &company,
                "--role",
                "admin",
            ],
        );
        World {
            id,
            table,
            company,
            admin,
        }
    }
}

/// A raw DynamoDB call to the emulator (its JSON protocol; moto reads the region from the
/// credential scope and checks no signature).
pub fn dynamodb(endpoint: &str, target: &str, body: &Value) -> Value {
    let (status, out) = http_request(
        &format!("{endpoint}/"),
        "POST",
        &[
            ("x-amz-target", &format!("DynamoDB_20120810.{target}")),
            ("content-type", "application/x-amz-json-1.0"),
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
            ),
        ],
        Some(&body.to_string()),
    );
    assert_eq!(status, 200, "{target}: {out}");
    out
}

/// Verifies a sender address in the emulator's SES (its query protocol), as an operator does
/// in a new account before the stage sends anything.
pub fn ses_verify(endpoint: &str, address: &str) {
    let body = format!("Action=VerifyEmailIdentity&Version=2010-12-01&EmailAddress={address}");
    let (status, out) = http_request(
        &format!("{endpoint}/"),
        "POST",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ses/aws4_request, SignedHeaders=host, Signature=0",
            ),
        ],
        Some(&body),
    );
    assert_eq!(status, 200, "VerifyEmailIdentity: {out}");
}

/// Makes the EventBridge bus `name` on the emulator (the template's `EventBus`).
pub fn event_bus(endpoint: &str, name: &str) {
    let (status, out) = http_request(
        &format!("{endpoint}/"),
        "POST",
        &[
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", "AWSEvents.CreateEventBus"),
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/events/aws4_request, SignedHeaders=host, Signature=0",
            ),
        ],
        Some(&serde_json::json!({ "Name": name }).to_string()),
    );
    assert!(
        status == 200 || out.to_string().contains("ResourceAlreadyExists"),
        "CreateEventBus: {status} {out}"
    );
}

/// The operator commands, on the emulator's table.
pub fn admit(endpoint: &str, table: &str, args: &[&str]) -> Value {
    let out = admit_on(endpoint)
        .args(args)
        .args(["--store", "dynamodb", "--table", table])
        .output()
        .expect("run admit");
    assert!(
        out.status.success(),
        "admit {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}
