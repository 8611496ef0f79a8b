package stack

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsses"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/acme/accountadmin/shared/routes"
)

// Environment variables of the functions that send mail (read by the mail
// sender).
const (
	envConfigurationSet = "SES_CONFIGURATION_SET"
	envSenderName       = "SENDER_NAME"
	envReplyToInviter   = "REPLY_TO_INVITER"
)

// mailEvents are the SES events the mail events function records: the
// outcomes that make an address one not to write to again, or that say a
// message is late.
var mailEvents = []awsses.EmailSendingEvent{
	awsses.EmailSendingEvent_BOUNCE,
	awsses.EmailSendingEvent_COMPLAINT,
	awsses.EmailSendingEvent_DELIVERY_DELAY,
	awsses.EmailSendingEvent_REJECT,
}

// exampleDomains can never send mail: the domains reserved for examples
// (RFC 2606, RFC 6761) and their subdomains.
var (
	exampleDomains = []string{"example.com", "example.org", "example.net"}
	exampleTLDs    = []string{"test", "example", "invalid", "localhost"}
)

// isExampleDomain reports whether domain is reserved for examples.
func isExampleDomain(domain string) bool {
	domain = strings.TrimSuffix(strings.ToLower(domain), ".")
	for _, d := range exampleDomains {
		if domain == d || strings.HasSuffix(domain, "."+d) {
			return true
		}
	}
	for _, tld := range exampleTLDs {
		if domain == tld || strings.HasSuffix(domain, "."+tld) {
			return true
		}
	}
	return false
}

// validateSenderIsReal refuses a sender at an example domain, which SES
// would accept as an identity that never verifies, so that no invitation
// is ever delivered; allowExampleSender lets a synth for review or tests
// through.
func (p *StackProps) validateSenderIsReal() error {
	if p.AllowExampleSender {
		return nil
	}
	for key, domain := range map[string]string{CtxSenderEmail: domainOf(p.SenderEmail), CtxSenderDomain: p.SenderDomain} {
		if domain != "" && isExampleDomain(domain) {
			return fmt.Errorf("the sender domain %q (context %s) is reserved for examples and can never send mail: "+
				"set context %s (and %s) to your own, or pass -c %s=true to synthesise anyway", domain, key, CtxSenderEmail, CtxSenderDomain, CtxAllowExampleSender)
		}
	}
	return nil
}

// domainOf is the domain of an email address, "" when it has none.
func domainOf(email string) string {
	if at := strings.LastIndex(email, "@"); at >= 0 {
		return strings.TrimSuffix(email[at+1:], ">")
	}
	return ""
}

// buildConfigurationSet promises the stage's SES configuration set, the
// sender identity's default (so every email sent as it uses it), with
// reputation metrics (bounce and complaint rates in CloudWatch).
func buildConfigurationSet(s awscdk.Stack, p *StackProps) awsses.ConfigurationSet {
	return awsses.NewConfigurationSet(s, jsii.String("MailConfigurationSet"), &awsses.ConfigurationSetProps{
		ConfigurationSetName: jsii.String(p.physicalName()),
		ReputationMetrics:    jsii.Bool(true),
	})
}

// configureMailSenders gives every function that sends mail the
// configuration set (SES_CONFIGURATION_SET), the sender's display name and
// the Reply-To rule, and lets it send with that configuration set (IAM
// authorises a send against the identity and the configuration set).
func configureMailSenders(s awscdk.Stack, p *StackProps, fns functionSet, configSet awsses.ConfigurationSet) {
	configSetArn := s.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("ses"), Resource: jsii.String("configuration-set"), ResourceName: configSet.ConfigurationSetName(),
	})
	for _, name := range fns.names {
		if !SendsMail(name) {
			continue
		}
		fn := fns.byName[name]
		fn.AddEnvironment(jsii.String(envConfigurationSet), configSet.ConfigurationSetName(), nil)
		fn.AddEnvironment(jsii.String(envReplyToInviter), jsii.String(fmt.Sprint(p.ReplyToInviter)), nil)
		if p.SenderName != "" {
			fn.AddEnvironment(jsii.String(envSenderName), jsii.String(p.SenderName), nil)
		}
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("SendWithConfigurationSet"),
			Actions:   jsii.Strings("ses:SendEmail", "ses:SendRawEmail"),
			Resources: jsii.Strings(*configSetArn),
		}))
	}
}

// buildMailEvents promises SES's bounces, complaints, delivery delays and
// rejections of the configuration set on an SNS topic (TLS only), and the
// mail events function subscribed to it. SNS invokes it asynchronously: a
// message SNS cannot deliver, and an invocation that fails after Lambda's
// retries, both end in one queue that alarms. It returns that alarm, or none
// when the deployment has no mail events function.
func buildMailEvents(s awscdk.Stack, configSet awsses.ConfigurationSet, fns functionSet, alarms awssns.Topic) []awscloudwatch.Alarm {
	var fn awslambda.Function
	for _, name := range routes.MailEventConsumers {
		if f, ok := fns.byName[name]; ok {
			fn = f
		}
	}
	if fn == nil {
		return nil
	}
	topic := awssns.NewTopic(s, jsii.String("MailEventsTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("accountadmin mail events"),
		EnforceSSL:  jsii.Bool(true),
	})
	configSet.AddEventDestination(jsii.String("MailEventsToTopic"), &awsses.ConfigurationSetEventDestinationOptions{
		Destination: awsses.EventDestination_SnsTopic(topic),
		Events:      &mailEvents,
	})

	failures := awssqs.NewQueue(s, jsii.String("MailEventFailures"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	suppress(failures, false, failureQueueRules("the mail event failures queue")...)
	topic.AddSubscription(awssnssubscriptions.NewLambdaSubscription(fn, &awssnssubscriptions.LambdaSubscriptionProps{
		DeadLetterQueue: failures,
	}))
	fn.ConfigureAsyncInvoke(&awslambda.EventInvokeConfigOptions{
		OnFailure:     awslambdadestinations.NewSqsDestination(failures),
		RetryAttempts: jsii.Number(jobRetryAttempts),
		MaxEventAge:   awscdk.Duration_Hours(jsii.Number(jobMaxEventAge)),
	})

	return []awscloudwatch.Alarm{alarmOnMessages(s, failures, "MailEventFailuresAlarm", alarms,
		"a bounce or complaint was not recorded after its retries: see the mail event failures queue")}
}

// Thresholds of the sending reputation alarms: SES reviews an account
// whose bounce rate reaches 5% or whose complaint rate reaches 0.1%, and
// may pause its sending at twice (bounces) or five times (complaints) that.
const (
	bounceRateAlarm    = 0.05
	complaintRateAlarm = 0.001
)

// buildReputationAlarms promises alarms on the account's bounce and
// complaint rates as SES computes them, before SES reviews or pauses the
// account's sending. They are the account's: every stage in it watches
// the same rates.
func buildReputationAlarms(s awscdk.Stack, alarms awssns.Topic) []awscloudwatch.Alarm {
	notify := awscloudwatchactions.NewSnsAction(alarms)
	var made []awscloudwatch.Alarm
	for _, r := range []struct {
		id, metric, what, see string
		threshold             float64
	}{
		{"BounceRateAlarm", "Reputation.BounceRate", "bounce", "the invitations that bounced", bounceRateAlarm},
		{"ComplaintRateAlarm", "Reputation.ComplaintRate", "complaint", "the invitations marked as spam", complaintRateAlarm},
	} {
		alarm := awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String("AWS/SES"), MetricName: jsii.String(r.metric),
			Statistic: jsii.String("Maximum"), Period: awscdk.Duration_Hours(jsii.Number(1)),
		}).CreateAlarm(s, jsii.String(r.id), &awscloudwatch.CreateAlarmOptions{
			AlarmDescription: jsii.String(fmt.Sprintf("the account's SES %s rate is at or above %g%%, where SES reviews its sending: see %s",
				r.what, r.threshold*100, r.see)),
			Threshold:          jsii.Number(r.threshold),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		alarm.AddAlarmAction(notify)
		alarm.AddOkAction(notify)
		made = append(made, alarm)
	}
	return made
}

// outputDKIM gives the three DKIM CNAME records of a domain identity to
// publish in DNS (an address identity has none of its own).
func outputDKIM(s awscdk.Stack, p *StackProps, identity awsses.EmailIdentity) {
	if p.SenderDomain == "" {
		return
	}
	records := [][2]*string{
		{identity.DkimDnsTokenName1(), identity.DkimDnsTokenValue1()},
		{identity.DkimDnsTokenName2(), identity.DkimDnsTokenValue2()},
		{identity.DkimDnsTokenName3(), identity.DkimDnsTokenValue3()},
	}
	for i, r := range records {
		n := i + 1
		awscdk.NewCfnOutput(s, jsii.String(fmt.Sprintf("DkimRecord%dName", n)), &awscdk.CfnOutputProps{
			Value: r[0], Description: jsii.String(fmt.Sprintf("DKIM record %d of %s: a CNAME of this name", n, p.SenderDomain)),
		})
		awscdk.NewCfnOutput(s, jsii.String(fmt.Sprintf("DkimRecord%dValue", n)), &awscdk.CfnOutputProps{
			Value: r[1], Description: jsii.String(fmt.Sprintf("DKIM record %d of %s: the CNAME's value", n, p.SenderDomain)),
		})
	}
}
