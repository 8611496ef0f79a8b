// Package events holds sample events: one API Gateway v2 HTTP request per
// route (events/<function>/<name>.json), one EventBridge event per
// scheduled job, and the SNS-wrapped SES notifications ses-events receives
// (events/ses-events: a permanent bounce, a complaint, a delivery delay, a
// reject; ${SES_MESSAGE_ID}, ${SES_INVITATION_ID} and ${SES_RECIPIENT} are
// filled from a real invitation email sent through SES local). Placeholders such as ${TENANT} and ${TOKEN} are filled by
// the test with a real tenant and session, then every sample is decoded,
// re-encoded and run through its function's handler against DynamoDB Local.
//
// schemas/ holds the JSON Schema of each domain event the service puts on
// its event bus (one per detail-type, beside event.json, their envelope).
package events
