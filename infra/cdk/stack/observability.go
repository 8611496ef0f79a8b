package stack

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/jsii-runtime-go"

	"github.com/acme/accountadmin/shared/httpapi"
)

// Thresholds of the request alarms (metrics of httpapi.Server.Serve).
const (
	faultRatePercent = 5    // 5xx answers in 5 minutes, as a share of requests
	faultRateMinimum = 10   // requests in 5 minutes below which the rate does not alarm
	latencyP99Millis = 3000 // p99 latency over 5 minutes, 2 periods running
)

// AccessLogFormat is the stage's access log line: one JSON object per
// request that API Gateway answered, including those no function saw (a
// throttled 429, an integration failure). requestId is the id the function
// logs and problem bodies quote.
var AccessLogFormat = map[string]string{
	"requestId":         "$context.requestId",
	"requestTime":       "$context.requestTimeEpoch",
	"route":             "$context.routeKey",
	"method":            "$context.httpMethod",
	"path":              "$context.path",
	"status":            "$context.status",
	"latencyMs":         "$context.responseLatency",
	"integrationMs":     "$context.integrationLatency",
	"integrationStatus": "$context.integrationStatus",
	"integrationError":  "$context.integrationErrorMessage",
	"authorizerError":   "$context.authorizer.error",
	"sourceIp":          "$context.identity.sourceIp",
	"userAgent":         "$context.identity.userAgent",
	"responseLength":    "$context.responseLength",
	"lambdaRequestId":   "$context.integration.requestId",
	"protocol":          "$context.protocol",
	"errorMessage":      "$context.error.message",
	"errorResponseType": "$context.error.responseType",
}

// buildAccessLogs promises JSON access logs of the stage, kept a month.
func buildAccessLogs(s awscdk.Stack, stage awsapigatewayv2.HttpStage) awslogs.LogGroup {
	logs := awslogs.NewLogGroup(s, jsii.String("ApiAccessLogs"), &awslogs.LogGroupProps{
		Retention: awslogs.RetentionDays_ONE_MONTH,
	})
	format, err := json.Marshal(AccessLogFormat)
	if err != nil {
		panic(err)
	}
	stage.Node().DefaultChild().(awsapigatewayv2.CfnStage).SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: logs.LogGroupArn(),
		Format:         jsii.String(string(format)),
	})
	return logs
}

// buildJobFailures promises that a scheduled run that fails (after Lambda's
// own two retries of an asynchronous invocation) is kept in a queue that
// alarms, rather than dropped: an on-failure destination on every job
// function. It returns that queue, or nil when there are no jobs.
func buildJobFailures(s awscdk.Stack, p *StackProps, fns functionSet) awssqs.Queue {
	var jobFns []string
	for _, j := range p.jobTable() {
		if !slices.Contains(jobFns, j.Function) {
			jobFns = append(jobFns, j.Function)
		}
	}
	if len(jobFns) == 0 {
		return nil
	}
	failures := awssqs.NewQueue(s, jsii.String("JobFailures"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	suppress(failures, false, failureQueueRules("the job failures queue")...)
	for _, name := range jobFns {
		fns.byName[name].ConfigureAsyncInvoke(&awslambda.EventInvokeConfigOptions{
			OnFailure:     awslambdadestinations.NewSqsDestination(failures),
			RetryAttempts: jsii.Number(jobRetryAttempts),
			MaxEventAge:   awscdk.Duration_Hours(jsii.Number(jobMaxEventAge)),
		})
	}
	return failures
}

// requestMetric is one of httpapi.Server.Serve's metrics for a function.
func requestMetric(p *StackProps, name, function, statistic string) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:     jsii.String(httpapi.StageNamespace(p.stage())),
		MetricName:    jsii.String(name),
		DimensionsMap: &map[string]*string{httpapi.DimensionFunction: jsii.String(function)},
		Statistic:     jsii.String(statistic),
		Period:        awscdk.Duration_Minutes(jsii.Number(5)),
	})
}

// sumOver adds one metric of several functions (ids: the metric's name in
// lower case and a number, unique within a graph).
func sumOver(p *StackProps, name, label string, functions []string) awscloudwatch.MathExpression {
	using := map[string]awscloudwatch.IMetric{}
	expr := ""
	for i, fn := range functions {
		id := fmt.Sprintf("%s%d", strings.ToLower(name), i)
		using[id] = requestMetric(p, name, fn, "Sum")
		if expr != "" {
			expr += "+"
		}
		expr += id
	}
	return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression:   jsii.String(expr),
		UsingMetrics: &using,
		Label:        jsii.String(label),
		Period:       awscdk.Duration_Minutes(jsii.Number(5)),
	})
}

// buildRequestAlarms promises, for every function that serves routes,
// alarms on its 5xx rate, on a panic and on its p99 latency; one alarm on
// DynamoDB requests failed after the SDK's retries, one on emails SES did
// not take, and one on failed job runs. Each notifies the topic when it
// goes off and when it is OK again. It returns them for the dashboard.
func buildRequestAlarms(s awscdk.Stack, p *StackProps, topic awssns.Topic, jobFailures awssqs.Queue) []awscloudwatch.Alarm {
	notify := awscloudwatchactions.NewSnsAction(topic)
	var alarms []awscloudwatch.Alarm
	alarm := func(id string, metric awscloudwatch.IMetric, threshold float64, periods int, description string) {
		a := awscloudwatch.NewAlarm(s, jsii.String(id), &awscloudwatch.AlarmProps{
			Metric:             metric,
			AlarmDescription:   jsii.String(description),
			Threshold:          jsii.Number(threshold),
			EvaluationPeriods:  jsii.Number(periods),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(notify)
		a.AddOkAction(notify)
		alarms = append(alarms, a)
	}
	routed := routeFunctions(p)
	for _, fn := range routed {
		id := pascal(fn)
		rate := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression: jsii.String(fmt.Sprintf("IF(requests >= %d, 100 * faults / requests, 0)", faultRateMinimum)),
			UsingMetrics: &map[string]awscloudwatch.IMetric{
				"faults":   requestMetric(p, httpapi.MetricFaults, fn, "Sum"),
				"requests": requestMetric(p, httpapi.MetricRequests, fn, "Sum"),
			},
			Label:  jsii.String("functions/" + fn + " 5xx %"),
			Period: awscdk.Duration_Minutes(jsii.Number(5)),
		})
		alarm(id+"FaultRateAlarm", rate, faultRatePercent, 1,
			fmt.Sprintf("functions/%s answered 5xx to %d%% or more of its requests in 5 minutes", fn, faultRatePercent))
		alarm(id+"PanicsAlarm", requestMetric(p, httpapi.MetricPanics, fn, "Sum"), 1, 1,
			"a handler of functions/"+fn+" panicked (answered 500): see its ERROR lines with a stack")
		alarm(id+"LatencyAlarm", requestMetric(p, httpapi.MetricLatency, fn, "p99"), latencyP99Millis, 2,
			fmt.Sprintf("functions/%s p99 latency at or above %d ms for 10 minutes", fn, latencyP99Millis))
	}
	if len(routed) > 0 {
		alarm("DynamoDBFailuresAlarm", sumOver(p, httpapi.MetricDynamoDBFailures, "DynamoDB failures", routed), 1, 1,
			"requests failed by DynamoDB (throttled or failing) after the SDK's retries")
	}
	var mailers []string
	for _, fn := range routed {
		if SendsMail(fn) {
			mailers = append(mailers, fn)
		}
	}
	if len(mailers) > 0 {
		alarm("SESFailuresAlarm", sumOver(p, httpapi.MetricSESFailures, "SES failures", mailers), 1, 1,
			"emails that SES did not take after the sender's retries (see the invitations' delivery)")
	}
	if jobFailures != nil {
		alarm("JobFailuresAlarm", jobFailures.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Maximum"),
		}), 1, 1, "a scheduled job's run failed after its retries: its event is in the job failures queue")
	}
	return alarms
}

// routeFunctions are the function folders that serve routes, in table order.
func routeFunctions(p *StackProps) []string {
	var out []string
	for _, r := range p.routeTable() {
		if !slices.Contains(out, r.Function) {
			out = append(out, r.Function)
		}
	}
	return out
}

// buildDashboard promises one dashboard of what the alarms watch: requests
// and 5xx per function, p99 latency, DynamoDB and SES failures, failed job
// runs, and the state of every alarm.
func buildDashboard(s awscdk.Stack, p *StackProps, alarms []awscloudwatch.Alarm, jobFailures awssqs.Queue) awscloudwatch.Dashboard {
	routed := routeFunctions(p)
	var requests, faults, latency []awscloudwatch.IMetric
	for _, fn := range routed {
		requests = append(requests, requestMetric(p, httpapi.MetricRequests, fn, "Sum").With(&awscloudwatch.MetricOptions{Label: jsii.String(fn)}))
		faults = append(faults, requestMetric(p, httpapi.MetricFaults, fn, "Sum").With(&awscloudwatch.MetricOptions{Label: jsii.String(fn)}))
		latency = append(latency, requestMetric(p, httpapi.MetricLatency, fn, "p99").With(&awscloudwatch.MetricOptions{Label: jsii.String(fn)}))
	}
	graph := func(title string, metrics []awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String(title), Left: &metrics, Width: jsii.Number(12), Height: jsii.Number(6),
		})
	}
	widgets := []awscloudwatch.IWidget{
		graph("Requests per function", requests),
		graph("5xx answers per function", faults),
		graph("p99 latency (ms) per function", latency),
	}
	var dependencies []awscloudwatch.IMetric
	if len(routed) > 0 {
		dependencies = append(dependencies, sumOver(p, httpapi.MetricDynamoDBFailures, "DynamoDB failures", routed))
		dependencies = append(dependencies, sumOver(p, httpapi.MetricSESFailures, "SES failures", routed))
	}
	if jobFailures != nil {
		dependencies = append(dependencies, jobFailures.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Label: jsii.String("failed job runs"), Statistic: jsii.String("Maximum"),
		}))
	}
	widgets = append(widgets, graph("DynamoDB, SES and job failures", dependencies))
	var alarmRefs []interfacesawscloudwatch.IAlarmRef
	for _, a := range alarms {
		alarmRefs = append(alarmRefs, a)
	}
	widgets = append(widgets, awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{
		Title: jsii.String("Alarms"), Alarms: &alarmRefs, Width: jsii.Number(24),
	}))
	return awscloudwatch.NewDashboard(s, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName: jsii.String(p.physicalName()),
		Widgets:       &[]*[]awscloudwatch.IWidget{&widgets},
	})
}
