package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/jsii-runtime-go"

	"github.com/acme/accountadmin/shared/sms"
	"github.com/acme/accountadmin/shared/twofactor/kmsseal"
)

// twoFactorFunction is the function that enrols and checks second factors.
const twoFactorFunction = "auth"

// buildTwoFactor promises the key that seals second-factor secrets (rotated
// yearly, retained), usable by the auth function only to generate and
// decrypt data keys; and SMS by SNS Publish to phone numbers only: the
// grant excludes every topic ARN, and no other function may send SMS.
func buildTwoFactor(s awscdk.Stack, props *StackProps, fns functionSet) {
	fn, ok := fns.byName[twoFactorFunction]
	if !ok {
		return
	}
	key := awskms.NewKey(s, jsii.String("TwoFactorKey"), &awskms.KeyProps{
		Description:       jsii.String("seals second-factor secrets (TOTP keys) by envelope encryption"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
	key.Grant(fn, jsii.String("kms:GenerateDataKey"), jsii.String("kms:Decrypt"))
	fn.AddEnvironment(jsii.String(kmsseal.EnvKeyID), key.KeyArn(), nil)
	fn.AddEnvironment(jsii.String(sms.EnvEnabled), jsii.String("true"), nil)
	if props.SMSSenderID != "" {
		fn.AddEnvironment(jsii.String(sms.EnvSenderID), jsii.String(props.SMSSenderID), nil)
	}
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:     jsii.String("SmsToPhoneNumbersOnly"),
		Actions: jsii.Strings("sns:Publish"),
		// A phone number has no ARN: excluding every topic leaves only
		// direct SMS.
		NotResources: jsii.Strings("arn:" + *awscdk.Aws_PARTITION() + ":sns:*:*:*"),
	}))
}
