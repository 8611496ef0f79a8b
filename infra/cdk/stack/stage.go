package stack

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

// DefaultStage is the stage of a deployment that names none.
const DefaultStage = "prod"

// stagePattern is what a stage name may be: it goes into the stack name and
// into every physical name of the stage (dashboard names allow no dot, SES
// configuration sets no dot either), so that several stages deploy side by
// side in one account and region.
var stagePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,15}$`)

// stage is the deployment's stage name.
func (p *StackProps) stage() string {
	if p.Stage == "" {
		return DefaultStage
	}
	return p.Stage
}

// StackID is the id, and so the CloudFormation name, of the stage's stack.
// The default stage keeps the name deployments had before stages existed,
// so that deploying this version updates that stack (and its table) rather
// than creating a second one beside it.
func (p *StackProps) StackID() string {
	if p.stage() == DefaultStage {
		return "AccountAdmin"
	}
	return "AccountAdmin-" + p.stage()
}

// physicalName is the name of every resource of the stage that is named
// explicitly (the HTTP API, the event bus, the dashboard, the SES
// configuration set): one per stage, never shared by two stages. Resources
// not named here get names CloudFormation derives from the stack name.
func (p *StackProps) physicalName() string { return "accountadmin-" + p.stage() }

// tagStage marks every resource of the stack with its stage, for cost and
// search.
func tagStage(s awscdk.Stack, p *StackProps) {
	awscdk.Tags_Of(s).Add(jsii.String("accountadmin:stage"), jsii.String(p.stage()), nil)
}

// validateStage checks the stage name.
func validateStage(stage string) error {
	if stage != "" && !stagePattern.MatchString(stage) {
		return fmt.Errorf("the stage %q (context %s) must be 1 to 16 lower-case letters, digits and hyphens, starting with a letter or digit", stage, CtxStage)
	}
	return nil
}

// contextLayers are the places a context key's value comes from, for one
// stage: the flat context (cdk.json's "context", cdk.context.json and -c
// key=value, merged by the CDK), the stage's entry in the "stages" object,
// and cdk.json's own flat values, which tell a default written there from a
// value given on the command line.
type contextLayers struct {
	flat     func(key string) any
	stage    map[string]any
	defaults map[string]any
}

// get is a key's value: a flat value given on the command line (one that is
// not cdk.json's default) wins; else the stage's entry; else the flat value.
func (c contextLayers) get(key string) any {
	flat := c.flat(key)
	if v, ok := c.stage[key]; ok {
		if d, isDefault := c.defaults[key]; flat == nil || (isDefault && fmt.Sprint(d) == fmt.Sprint(flat)) {
			return v
		}
	}
	return flat
}

// stageContext is the entry of stage in the "stages" context object, nil
// when there is none.
func stageContext(stages any, stage string) (map[string]any, error) {
	if stages == nil {
		return nil, nil
	}
	all, ok := stages.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("context %s: want an object of stage names to their context, got %T", CtxStages, stages)
	}
	entry, ok := all[stage]
	if !ok {
		return nil, nil
	}
	ctx, ok := entry.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("context %s.%s: want an object of context keys to values, got %T", CtxStages, stage, entry)
	}
	return ctx, nil
}

// cdkJSONContext is the flat "context" of cdk.json at the repository root,
// nil when there is no cdk.json.
func cdkJSONContext(root string) (map[string]any, error) {
	raw, err := os.ReadFile(filepath.Join(root, "cdk.json"))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read cdk.json: %w", err)
	}
	var doc struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("read cdk.json: %w", err)
	}
	return doc.Context, nil
}
