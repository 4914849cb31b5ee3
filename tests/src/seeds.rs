//! The vendor pages' example bodies, exactly as printed: the API tests send them, and the
//! OpenAPI document (docs/openapi.yaml) carries them as its examples.

/// inviteMIUser: the example body.
pub const MI_INVITE: &str = r#"{
  "companyId": 3,
  "contact": {
    "contactId": null,
    "countryCode": null,
    "firstname": "Doctor Invited By Rep",
    "lastname": "McMullen",
    "department": null,
    "company": null,
    "workAddress1": null,
    "workAddress2": null,
    "city": null,
    "state": null,
    "postCode": null,
    "otherCountryCode": null,
    "externalId": null,
    "contactType": null,
    "title": null,
    "mobile": null,
    "phone": null,
    "otherPhone": null,
    "contactProfession": null,
    "contactSpecialty": null,
    "contactCategory": null,
    "email1": "aaron@interact.technology",
    "email2": null,
    "workAddress3": null,
    "ownedBy": null,
    "notes": null,
    "facebookId": null,
    "dateOfBirth": null,
    "webPage": null,
    "otherAddress1": null,
    "otherAddress2": null,
    "otherAddress3": null,
    "otherCity": null,
    "otherState": null,
    "otherPostcode": null,
    "faxNumber": null,
    "twitterId": null
  },
  "inviteTeams": [
    {
      "teamId": 22,
      "teamName": "Equity Investments"
    },
    {
      "teamId": 21,
      "teamName": "Property Investments"
    }
  ]
}"#;

/// selfRegisterMIUser: the version 1 example.
pub const SELF_REGISTER_V1: &str = r#"{
"version": 1,
"password": "mypassword",
"apiKey": "708a5f7f-5016-4a89-a0d5-df6ba77ffdd2",
"emailAddress": "aaron@interact.technology",
"firstName": "Aaron Web Service Test",
"lastName": "McMullen"
}"#;

/// selfRegisterMIUser: the version 5 example (but for the page's curly quotes around `condition`).
pub const SELF_REGISTER_V5: &str = r#"{
"uInteractTsAndCs": "Y",
"uSAMTrackingConsent": "Y",
"uiCloudConsent": "Y",
"uGoogleConsent": "Y",
"uFacebookConsent": "Y",
"storeContactIdentifiers": false,
"version": 5,
"apiKey": "SOMEAPIKEY",
"emailAddress": "test@yopmail.com",
"firstName": "My Test",
"lastName": "User",
"password": "Pa55word",
"qrAccessCode": "ACCESSCODE",
"qrAccessCodes" : ["Access1", "Access2"],
"contactDetails": {
"countryCode": "AU",
"otherCountryCode": "NZ",
"contactProfession": "Doctor",
"contactSpecialty": "Gastroenterology",
"contactCategory": "My CRM Category",
"primaryMobile": "0405112233",
"externalId": "ABC987-D875356",
"title": "Lord",
"firstname": "My Test",
"lastname": "User",
"mobile": "041234567",
"phone": "0411223344",
"otherPhone": "02 9988776633",
"department": "IT",
"email1": "test@yopmail.com",
"company": "INTERACT Technology",
"city": "Sydney",
"state": "AU-NSW",
"postCode": "2031",
"ownedBy": "Someone",
"notes": "A lovely fella",
"facebookId": "catherder31",
"dateOfBirth": "31/07/1982",
"otherAddress1": "Other address 1",
"otherAddress2": "Other address 2",
"otherAddress3": "Other address 3",
"otherCity": "Auckland",
"otherState": "AU-QLD",
"otherPostcode": "2000",
"faxNumber": "02 12345678",
"wallConsent1": "My wall consent 1",
"wallConsent2": "My wall consent 2",
"wallConsent3": "My wall consent 3",
"wallConsent4": "My wall consent 4",
"wallConsent5": "My wall consent 5",
"wallConsent6": "My wall consent 6",
"eventConsent1": "My event consent 1",
"eventConsent2": "My event consent 2",
"eventConsent3": "My event consent 3",
"eventConsent4": "My event consent 4",
"additional1": "Additional 1",
"additional2": "Additional 2",
"additional3": "Additional 3",
"lead": "My lead",
"representativeName": "Rep Name"
},
"title": 1,
"countryCode": "AU",
"profession": 1,
"specialty": 9,
"condition": 2,
"otherTitle": "Sir",
"otherProfession": "Ventriloquist",
"otherSpecialty": "Cat Herder",
"validationFields": [
{
"id": 1,
"value": "ABC0123456789"
}
],
"sendWelcomeEmail": true,
"dietaryRequirements": "Halal"
}"#;

/// assignMemberToTeams: the example answer.
pub const ASSIGN_TEAMS_ANSWER: &str = r#"[
    {
        "teamId": 6,
        "teamName": "Property Investments"
    },
    {
        "teamId": 7,
        "teamName": "Equity Investments"
    }
]"#;

/// POST /api/users/invitations: the sample body.
pub const PLATFORM_INVITE: &str = r#"{
  "EmailAddresses":[
    "jane.mead@acmepaymentscorp.com"
  ],
  "Message":"You should join this awesome app management platform."
}"#;

/// Invite Users: the parameter table's example values as a body.
pub const SITE_INVITE: &str = r#"{
  "email": "testuser@intapp.com",
  "duration": 10,
  "groups": [12, 22, 192],
  "autoCreateOrLinkContact": true,
  "mappedContactID": 0
}"#;

/// the user activity report: the sample request.
pub const ACTIVITY_REPORT: &str = r#"{
  "userIds": [
    1
  ],
  "dateFrom": "2022-01-05T19:54:08.704Z",
  "dateTo": "2022-05-05T19:54:08.704Z",
  "activity": 1,
  "source": 1
}"#;

/// the user activity report: the sample query (its range is empty).
pub const ACTIVITY_REPORT_EMPTY: &str = r#"{
  "userIds": [
    0
  ],
  "dateFrom": "2021-05-05T19:54:08.704Z",
  "dateTo": "2021-05-05T19:54:08.704Z",
  "activity": 1,
  "source": 1
}"#;
/// assignMemberToTeams: the example without a notification.
pub const ASSIGN_TEAMS: &str = "{\n        \"userId\" : 8,\n        \"teams\" : [6, 7]\n}";

/// assignMemberToTeams: the example that asks for a notification.
pub const ASSIGN_TEAMS_NOTIFY: &str = "{\n        \"userId\" : 8,\n        \"teams\" : [6, 7],\n        \"sendNotification\" : true\n}";

/// assignMemberToTeams: the example with a notification and its message.
pub const ASSIGN_TEAMS_MESSAGE: &str = "{\n        \"userId\" : 8,\n        \"teams\" : [6, 7],\n        \"sendNotification\" : true,\n        \"notificationMsg\" : \"You have been assigned more content blah de blah\"\n}";
