// Command cdk is the CDK app that deploys the account administration service
// (see cdk.json at the repository root): it reads the props from the context,
// builds the stack and synthesises it.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/acme/accountadmin/infra/cdk/stack"
)

func main() {
	defer jsii.Close()

	app := awscdk.NewApp(nil)
	props, err := stack.PropsFromContext(app.Node())
	if err == nil {
		err = props.Validate()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "accountadmin cdk app: %v\n", err)
		jsii.Close()
		os.Exit(1)
	}
	stack.NewAccountAdminStack(app, props.StackID(), props)
	app.Synth(nil)
}
