package stack

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/jsii-runtime-go"
)

// hostnamePattern is a DNS name of at least two labels, lower case.
var hostnamePattern = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)

// validateDomain checks the custom domain: a domain name and its
// certificate, both or neither.
func (p *StackProps) validateDomain() error {
	switch {
	case p.DomainName == "" && p.CertificateARN == "":
		return nil
	case p.DomainName == "" || p.CertificateARN == "":
		return fmt.Errorf("a custom domain needs both context %s and %s (got %q and %q)", CtxDomainName, CtxCertificateARN, p.DomainName, p.CertificateARN)
	}
	var errs []error
	if !hostnamePattern.MatchString(p.DomainName) {
		errs = append(errs, fmt.Errorf("the domain name %q (context %s) is not a lower-case DNS name", p.DomainName, CtxDomainName))
	}
	if !strings.HasPrefix(p.CertificateARN, "arn:") || !strings.Contains(p.CertificateARN, ":acm:") || !strings.Contains(p.CertificateARN, ":certificate/") {
		errs = append(errs, fmt.Errorf("the certificate %q (context %s) is not an ACM certificate ARN", p.CertificateARN, CtxCertificateARN))
	}
	return errors.Join(errs...)
}

// publicBaseURL is where links in emails point: the configured base URL,
// else the custom domain, else "" (the API's own endpoint, known only once
// deployed).
func (p *StackProps) publicBaseURL() string {
	switch {
	case p.PublicBaseURL != "":
		return p.PublicBaseURL
	case p.DomainName != "":
		return "https://" + p.DomainName
	}
	return ""
}

// buildCustomDomain promises, when a domain is configured, a regional API
// Gateway domain name with the given ACM certificate (TLS 1.2) and the
// default stage mapped at its root, and the name to point a CNAME or alias
// record at.
func buildCustomDomain(s awscdk.Stack, p *StackProps, api awsapigatewayv2.HttpApi, stage awsapigatewayv2.HttpStage) {
	if p.DomainName == "" {
		return
	}
	domain := awsapigatewayv2.NewDomainName(s, jsii.String("ApiDomain"), &awsapigatewayv2.DomainNameProps{
		DomainName:     jsii.String(p.DomainName),
		Certificate:    awscertificatemanager.Certificate_FromCertificateArn(s, jsii.String("ApiCertificate"), jsii.String(p.CertificateARN)),
		EndpointType:   awsapigatewayv2.EndpointType_REGIONAL,
		SecurityPolicy: awsapigatewayv2.SecurityPolicy_TLS_1_2,
	})
	awsapigatewayv2.NewApiMapping(s, jsii.String("ApiDomainMapping"), &awsapigatewayv2.ApiMappingProps{
		Api:        api,
		DomainName: domain,
		Stage:      stage,
	})
	awscdk.NewCfnOutput(s, jsii.String("ApiDomainTarget"), &awscdk.CfnOutputProps{
		Value:       domain.RegionalDomainName(),
		Description: jsii.String("point a CNAME (or an alias) record of " + p.DomainName + " at this name"),
	})
	awscdk.NewCfnOutput(s, jsii.String("ApiDomainHostedZoneId"), &awscdk.CfnOutputProps{
		Value:       domain.RegionalHostedZoneId(),
		Description: jsii.String("the hosted zone of ApiDomainTarget, for a Route 53 alias record"),
	})
}
