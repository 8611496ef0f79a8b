// Package stack is the account administration service's CDK stack: one
// DynamoDB table, one Lambda per function folder, an HTTP API (each function
// resolves its own callers), EventBridge schedules for the jobs, an SES sender identity and
// alarms. Routes, jobs and functions are generated from shared/routes and the
// table from shared/table, so adding a route or a job needs no change here.
package stack

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsses"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/routes"
	"github.com/acme/accountadmin/shared/table"
)

// Environment variables every function reads (see shared/app).
const (
	envTableName     = "TABLE_NAME"
	envSenderEmail   = "SENDER_EMAIL"
	envPublicBaseURL = "PUBLIC_BASE_URL"
)

// Job delivery: how often EventBridge retries a failed invocation, and for
// how long, before the event goes to the dead-letter queue.
const (
	jobRetryAttempts = 2
	jobMaxEventAge   = 1 // hour
)

// NewAccountAdminStack builds the whole deployment. It panics, as constructs
// do, when props are invalid (see StackProps.Validate).
func NewAccountAdminStack(scope constructs.Construct, id string, props *StackProps) awscdk.Stack {
	if err := props.Validate(); err != nil {
		panic(fmt.Errorf("stack %s: %w", id, err))
	}
	s := awscdk.NewStack(scope, jsii.String(id), &props.StackProps)
	tagStage(s, props)

	tbl := buildTable(s)
	configSet := buildConfigurationSet(s, props)
	sender := buildSenderIdentity(s, props, configSet)
	fns := buildFunctions(s, props, tbl, sender)
	configureMailSenders(s, props, fns, configSet)
	buildTwoFactor(s, props, fns)
	api, stage := buildAPI(s, props, fns)
	buildCustomDomain(s, props, api, stage)
	linkPublicBaseURL(props, fns, api)
	deadLetters := buildSchedules(s, props, fns)
	alarms, functionAlarms := buildAlarms(s, props, fns, deadLetters)
	buildAccessLogs(s, stage)
	jobFailures := buildJobFailures(s, props, fns)
	every := append(functionAlarms, buildRequestAlarms(s, props, alarms, jobFailures)...)
	every = append(every, buildDomainEvents(s, props, tbl, fns, alarms)...)
	every = append(every, buildMailEvents(s, configSet, fns, alarms)...)
	every = append(every, buildReputationAlarms(s, alarms)...)
	buildDashboard(s, props, every, jobFailures)
	outputDKIM(s, props, sender)

	awscdk.NewCfnOutput(s, jsii.String("ApiUrl"), &awscdk.CfnOutputProps{
		Value: stage.Url(), Description: jsii.String("the HTTP API's base URL"),
	})
	awscdk.NewCfnOutput(s, jsii.String("TableName"), &awscdk.CfnOutputProps{
		Value: tbl.TableName(), Description: jsii.String("the DynamoDB table"),
	})
	awscdk.NewCfnOutput(s, jsii.String("AlarmTopicArn"), &awscdk.CfnOutputProps{
		Value: alarms.TopicArn(), Description: jsii.String("subscribe here to receive the alarms"),
	})
	return s
}

// functionSet is the deployed functions by folder name, in deployment order.
type functionSet struct {
	names  []string
	byName map[string]awslambda.Function
}

// buildTable promises the table of table.Schema: its keys, every GSI with its
// projection and the TTL attribute; on-demand, with point-in-time recovery,
// deletion protection, and retained if the stack is deleted.
func buildTable(s awscdk.Stack) awsdynamodb.Table {
	def := table.Schema
	str := func(name string) *awsdynamodb.Attribute {
		return &awsdynamodb.Attribute{Name: jsii.String(name), Type: awsdynamodb.AttributeType_STRING}
	}
	t := awsdynamodb.NewTable(s, jsii.String("Table"), &awsdynamodb.TableProps{
		PartitionKey:        str(def.PartitionKey),
		SortKey:             str(def.SortKey),
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		TimeToLiveAttribute: jsii.String(def.TTLAttribute),
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		DeletionProtection: jsii.Bool(true),
		RemovalPolicy:      awscdk.RemovalPolicy_RETAIN,
		Stream:             awsdynamodb.StreamViewType(table.StreamView),
	})
	for _, ix := range def.Indexes {
		t.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
			IndexName:      jsii.String(ix.Name),
			PartitionKey:   str(ix.PartitionKey),
			SortKey:        str(ix.SortKey),
			ProjectionType: awsdynamodb.ProjectionType(ix.Projection),
		})
	}
	return t
}

// buildSenderIdentity promises the SES identity emails are sent as: the
// sender's domain when SenderDomain is set (its DKIM records must then be
// published in DNS: the DkimRecord outputs), else the single sender address
// (SES emails it a link to verify); its default configuration set is the
// stage's, so every email sent as it reports bounces and complaints. An
// identity is one per account and region: two stages side by side need
// two senders (e.g. a subdomain per stage).
func buildSenderIdentity(s awscdk.Stack, p *StackProps, configSet awsses.ConfigurationSet) awsses.EmailIdentity {
	identity := awsses.Identity_Email(jsii.String(p.SenderEmail))
	if p.SenderDomain != "" {
		identity = awsses.Identity_Domain(jsii.String(p.SenderDomain))
	}
	return awsses.NewEmailIdentity(s, jsii.String("SenderIdentity"), &awsses.EmailIdentityProps{Identity: identity, ConfigurationSet: configSet})
}

// buildFunctions promises one Lambda per function folder: the zip of its Go
// `bootstrap` on provided.al2023 / arm64, sized per function, JSON logs kept a
// month, active X-Ray tracing, the table and sender in its environment, and
// only its own grants on a role of its own: writing to its own log group
// (not the managed AWSLambdaBasicExecutionRole, which allows logs:* on
// every log group), the DynamoDB actions of TableActions, and SES sending
// only if SendsMail.
func buildFunctions(s awscdk.Stack, p *StackProps, tbl awsdynamodb.Table, sender awsses.EmailIdentity) functionSet {
	jobFunctions := map[string]bool{}
	for _, j := range p.jobTable() {
		jobFunctions[j.Function] = true
	}
	set := functionSet{byName: map[string]awslambda.Function{}}
	for _, name := range p.functions() {
		id := pascal(name)
		timeout := requestTimeout
		if jobFunctions[name] {
			timeout = jobTimeout
		}
		if slices.Contains(routes.StreamConsumers, name) {
			timeout = streamTimeout * time.Second
		}
		logs := awslogs.NewLogGroup(s, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
			Retention: awslogs.RetentionDays_ONE_MONTH,
		})
		env := map[string]*string{
			envTableName:   tbl.TableName(),
			envSenderEmail: jsii.String(p.SenderEmail),
			// The stage's own metrics, which its alarms and dashboard read.
			httpapi.EnvMetricNamespace: jsii.String(httpapi.StageNamespace(p.stage())),
		}
		if base := p.publicBaseURL(); base != "" {
			env[envPublicBaseURL] = jsii.String(base)
		}
		role := buildFunctionRole(s, id, name, logs)
		fn := awslambda.NewFunction(s, jsii.String(id+"Function"), &awslambda.FunctionProps{
			Description:           jsii.String(functionDescription(name)),
			Code:                  awslambda.Code_FromAsset(jsii.String(p.bundle(name)), nil),
			Handler:               jsii.String("bootstrap"),
			Runtime:               awslambda.Runtime_PROVIDED_AL2023(),
			Architecture:          awslambda.Architecture_ARM_64(),
			MemorySize:            jsii.Number(MemoryMB(name)),
			Timeout:               awscdk.Duration_Seconds(jsii.Number(timeout.Seconds())),
			Environment:           &env,
			LogGroup:              logs,
			LoggingFormat:         awslambda.LoggingFormat_JSON,
			ApplicationLogLevelV2: awslambda.ApplicationLogLevel_INFO,
			SystemLogLevelV2:      awslambda.SystemLogLevel_WARN,
			Role:                  role,
			Tracing:               awslambda.Tracing_ACTIVE,
		})
		suppress(fn, false, nagRule{id: "Serverless-LambdaDLQ", reason: noDLQReason(p, name)})
		grantTable(fn, tbl, TableActions(name))
		if SendsMail(name) {
			sender.GrantSendEmail(fn)
		}
		set.names = append(set.names, name)
		set.byName[name] = fn
	}
	return set
}

// buildFunctionRole is a function's own role: Lambda may assume it, and it
// may create streams and put events in the function's log group only.
// Active tracing adds xray:PutTraceSegments and PutTelemetryRecords, which
// have no resource-level permissions, hence their "*".
func buildFunctionRole(s awscdk.Stack, id, name string, logs awslogs.LogGroup) awsiam.Role {
	role := awsiam.NewRole(s, jsii.String(id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("the role of " + functionDescription(name)),
	})
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("OwnLogGroup"),
		Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
		Resources: &[]*string{logs.LogGroupArn()},
	}))
	reason := "xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) support no resource-level permissions"
	if slices.Contains(routes.StreamConsumers, name) {
		reason += "; dynamodb:ListStreams (the stream's event source mapping) neither"
	}
	suppress(role, true, nagRule{id: "AwsSolutions-IAM5", reason: reason, appliesTo: []string{"Resource::*"}})
	return role
}

// noDLQReason says why a function has no dead-letter queue of its own: a
// DLQ only ever receives failed asynchronous invocations.
func noDLQReason(p *StackProps, name string) string {
	var why []string
	if slices.Contains(routeFunctions(p), name) {
		why = append(why, "the HTTP API invokes it synchronously: a failure is the caller's answer and counts in the alarms")
	}
	for _, j := range p.jobTable() {
		if j.Function == name {
			why = append(why, "its scheduled runs (asynchronous) go, once failed, to the on-failure destination (the job failures queue, with the error), which a DLQ would duplicate")
			break
		}
	}
	if slices.Contains(routes.MailEventConsumers, name) {
		why = append(why, "SNS invokes it asynchronously, and its failures go to the on-failure destination (the mail event failures queue, with the error)")
	}
	if slices.Contains(routes.StreamConsumers, name) {
		why = append(why, "the stream's event source mapping invokes it, whose own on-failure queue keeps failed batches")
	}
	if len(why) == 0 {
		why = append(why, "it is not invoked asynchronously")
	}
	return strings.Join(why, "; ")
}

// grantTable allows exactly actions on the table, and on its indexes only
// when the function queries: each index by name, not index/*, so the grant
// names what it allows.
func grantTable(fn awslambda.Function, tbl awsdynamodb.Table, actions []string) {
	if len(actions) == 0 {
		return
	}
	resources := []*string{tbl.TableArn()}
	if slices.Contains(actions, actQuery) {
		for _, ix := range table.Schema.Indexes {
			resources = append(resources, jsii.String(*tbl.TableArn()+"/index/"+ix.Name))
		}
	}
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("TableAccess"),
		Actions:   jsii.Strings(actions...),
		Resources: &resources,
	}))
}

// buildAPI promises an HTTP API serving every route of the route table on its
// function (payload format 2.0) with no authorizer: each request invokes
// only its function, which resolves the caller itself on every request
// (httpapi.Server.Serve), so a revoked session is refused on its next call. A
// throttled $default stage whose shared limit every other route takes, each
// route of the public throttle class (Throttle: routes.ThrottlePublic:
// anyone may call it) under its own lower limit, and CORS only for the
// configured origins.
func buildAPI(s awscdk.Stack, p *StackProps, fns functionSet) (awsapigatewayv2.HttpApi, awsapigatewayv2.HttpStage) {
	api := awsapigatewayv2.NewHttpApi(s, jsii.String("HttpApi"), &awsapigatewayv2.HttpApiProps{
		ApiName:            jsii.String(p.physicalName()),
		Description:        jsii.String("account administration API"),
		CreateDefaultStage: jsii.Bool(false),
		CorsPreflight:      corsPreflight(p.CorsOrigins),
	})
	rate, burst := p.throttle()
	stage := awsapigatewayv2.NewHttpStage(s, jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageProps{
		HttpApi:    api,
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle:   &awsapigatewayv2.ThrottleSettings{RateLimit: jsii.Number(rate), BurstLimit: jsii.Number(burst)},
	})

	integrations := map[string]awsapigatewayv2integrations.HttpLambdaIntegration{}
	public := map[string]*[]awsapigatewayv2.HttpRoute{} // by route key
	for _, r := range p.routeTable() {
		integration, ok := integrations[r.Function]
		if !ok {
			integration = awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String(pascal(r.Function)+"Integration"),
				fns.byName[r.Function], &awsapigatewayv2integrations.HttpLambdaIntegrationProps{
					PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0(),
				})
			integrations[r.Function] = integration
		}
		opts := &awsapigatewayv2.AddRoutesOptions{
			Path:        jsii.String(r.Path),
			Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod(r.Method)},
			Integration: integration,
		}
		added := api.AddRoutes(opts)
		if r.Throttle == routes.ThrottlePublic {
			public[r.Key()] = added
		}
	}
	throttlePublicRoutes(stage, p, public)
	// After the routes: a suppression reaches only the children that exist.
	suppress(api, true, nagRule{id: "AwsSolutions-APIG4", reason: "no gateway authorizer by design: every function resolves its caller's session on each request " +
		"(httpapi.Server.Serve), so a revoked session is refused on its next call; the public routes (sign-in, the invitation link) need no session and have their own lower throttle"})
	return api, stage
}

// throttlePublicRoutes gives each public route its own limit in the stage's
// route settings (keyed by route key), so that sign-in and the invitation
// link, which anyone can call, cannot use up the shared limit of the
// authorized routes. A route setting needs its route to exist first: the
// stage depends on those routes.
func throttlePublicRoutes(stage awsapigatewayv2.HttpStage, p *StackProps, public map[string]*[]awsapigatewayv2.HttpRoute) {
	if len(public) == 0 {
		return
	}
	rate, burst := p.publicThrottle()
	settings := map[string]any{}
	for key, added := range public {
		settings[key] = map[string]any{"ThrottlingRateLimit": rate, "ThrottlingBurstLimit": burst}
		for _, route := range *added {
			stage.Node().AddDependency(route)
		}
	}
	stage.Node().DefaultChild().(awsapigatewayv2.CfnStage).SetRouteSettings(settings)
}

// corsPreflight allows origins to call the API from a browser with a bearer
// token; no origins means no CORS configuration.
func corsPreflight(origins []string) *awsapigatewayv2.CorsPreflightOptions {
	if len(origins) == 0 {
		return nil
	}
	return &awsapigatewayv2.CorsPreflightOptions{
		AllowOrigins: jsii.Strings(origins...),
		AllowMethods: &[]awsapigatewayv2.CorsHttpMethod{
			awsapigatewayv2.CorsHttpMethod_GET, awsapigatewayv2.CorsHttpMethod_POST, awsapigatewayv2.CorsHttpMethod_PUT,
			awsapigatewayv2.CorsHttpMethod_PATCH, awsapigatewayv2.CorsHttpMethod_DELETE, awsapigatewayv2.CorsHttpMethod_OPTIONS,
		},
		AllowHeaders:  jsii.Strings("Authorization", "Content-Type", "If-Match", "Idempotency-Key"),
		ExposeHeaders: jsii.Strings("ETag", "Location", "Retry-After"),
		MaxAge:        awscdk.Duration_Hours(jsii.Number(1)),
	}
}

// linkPublicBaseURL points links in emails at the API's own endpoint when
// neither a public base URL nor a custom domain is configured.
func linkPublicBaseURL(p *StackProps, fns functionSet, api awsapigatewayv2.HttpApi) {
	if p.publicBaseURL() != "" {
		return
	}
	for _, name := range fns.names {
		fns.byName[name].AddEnvironment(jsii.String(envPublicBaseURL), api.ApiEndpoint(), nil)
	}
}

// buildSchedules promises one EventBridge rule per job, on the job's schedule
// expression, invoking the job's function with the event the local stack
// sends (its own detail-type), retried twice within an hour and then kept in
// a dead-letter queue. It returns that queue, or nil when there are no jobs.
func buildSchedules(s awscdk.Stack, p *StackProps, fns functionSet) awssqs.Queue {
	jobs := p.jobTable()
	if len(jobs) == 0 {
		return nil
	}
	deadLetters := awssqs.NewQueue(s, jsii.String("ScheduleDeadLetters"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	suppress(deadLetters, false, failureQueueRules("the schedules' dead-letter queue")...)
	for _, j := range jobs {
		target := awseventstargets.NewLambdaFunction(fns.byName[j.Function], &awseventstargets.LambdaFunctionProps{
			DeadLetterQueue: deadLetters,
			RetryAttempts:   jsii.Number(jobRetryAttempts),
			MaxEventAge:     awscdk.Duration_Hours(jsii.Number(jobMaxEventAge)),
			Event:           jobEvent(j),
		})
		awsevents.NewRule(s, jsii.String(pascal(j.Name)+"Schedule"), &awsevents.RuleProps{
			Description: jsii.String(fmt.Sprintf("job %s: %s on functions/%s", j.Name, j.DetailType, j.Function)),
			Schedule:    awsevents.Schedule_Expression(jsii.String(j.Schedule)),
			Targets:     &[]awsevents.IRuleTarget{target},
		})
	}
	return deadLetters
}

// jobEvent is the scheduled event with its detail-type replaced by the job's,
// so a function serving several jobs tells them apart exactly as it does
// when the local stack fires them (scheduled rules otherwise all send
// "Scheduled Event").
func jobEvent(j routes.Job) awsevents.RuleTargetInput {
	return awsevents.RuleTargetInput_FromObject(map[string]any{
		"version":     "0",
		"id":          awsevents.EventField_EventId(),
		"detail-type": j.DetailType,
		"source":      awsevents.EventField_Source(),
		"account":     awsevents.EventField_Account(),
		"time":        awsevents.EventField_Time(),
		"region":      awsevents.EventField_Region(),
		"resources":   awsevents.EventField_FromPath(jsii.String("$.resources")),
		"detail":      awsevents.EventField_FromPath(jsii.String("$.detail")),
	})
}

// buildAlarms promises an alarm, sent to one SNS topic, on any error or
// throttle of any function and on any event left in the jobs' dead-letter
// queue.
func buildAlarms(s awscdk.Stack, p *StackProps, fns functionSet, deadLetters awssqs.Queue) (awssns.Topic, []awscloudwatch.Alarm) {
	topic := awssns.NewTopic(s, jsii.String("AlarmTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("accountadmin alarms"),
		EnforceSSL:  jsii.Bool(true),
	})
	if p.AlarmEmail != "" {
		sub := topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(p.AlarmEmail), nil))
		suppress(sub, false, nagRule{id: "Serverless-SNSRedrivePolicy", reason: "an alarm email SNS could not deliver is not worth a queue: " +
			"the alarm's state stays in CloudWatch and on the dashboard"})
	}
	notify := awscloudwatchactions.NewSnsAction(topic)
	var made []awscloudwatch.Alarm
	alarmOn := func(id string, metric awscloudwatch.Metric, description string) {
		alarm := metric.CreateAlarm(s, jsii.String(id), &awscloudwatch.CreateAlarmOptions{
			AlarmDescription:   jsii.String(description),
			Threshold:          jsii.Number(1),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		alarm.AddAlarmAction(notify)
		alarm.AddOkAction(notify)
		made = append(made, alarm)
	}
	every5Minutes := &awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Sum")}
	for _, name := range fns.names {
		fn := fns.byName[name]
		alarmOn(pascal(name)+"ErrorsAlarm", fn.MetricErrors(every5Minutes), "functions/"+name+" failed")
		alarmOn(pascal(name)+"ThrottlesAlarm", fn.MetricThrottles(every5Minutes), "functions/"+name+" was throttled")
	}
	if deadLetters != nil {
		alarmOn("ScheduleDeadLettersAlarm", deadLetters.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Maximum"),
		}), "a scheduled job's event was dropped after its retries: see the dead-letter queue")
	}
	return topic, made
}

// functionDescription is the description of a function's Lambda: it names
// the folder the code comes from.
func functionDescription(name string) string { return "accountadmin functions/" + name }

// pascal turns a folder or job name into a construct id: expire-invitations
// becomes ExpireInvitations.
func pascal(name string) string {
	var b strings.Builder
	upper := true
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			upper = true
			continue
		}
		if upper {
			r = unicode.ToUpper(r)
			upper = false
		}
		b.WriteRune(r)
	}
	return b.String()
}
