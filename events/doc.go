// Package events holds sample events: one API Gateway v2 HTTP request per
// route (events/<function>/<name>.json) and one EventBridge event per
// scheduled job. Placeholders such as ${TENANT} and ${TOKEN} are filled by
// the test with a real tenant and session, then every sample is decoded,
// re-encoded and run through its function's handler against DynamoDB Local.
//
// schemas/ holds the JSON Schema of each domain event the service puts on
// its event bus (one per detail-type, beside event.json, their envelope).
package events
