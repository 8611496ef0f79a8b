package stack

import (
	"slices"
	"testing"

	"github.com/aws/jsii-runtime-go"
)

func TestSecondFactorsAreSealedByTheirKeyAndTextedByAuthOnly(t *testing.T) {
	d := deployedToday(t)
	// GIVEN the stack THEN it holds a rotated key for second-factor secrets
	holds(t, "rotated key", func() {
		d.template.HasResourceProperties(jsii.String("AWS::KMS::Key"), map[string]any{"EnableKeyRotation": true})
	})
	// AND the auth function generates and decrypts data keys with it, nothing more
	var kms, publish []string
	for _, name := range d.props.functions() {
		for _, st := range d.cfn.statementsOf(t, name) {
			for _, a := range st.actions() {
				switch {
				case a == "sns:Publish":
					publish = append(publish, name)
				case len(a) > 4 && a[:4] == "kms:":
					kms = append(kms, name+" "+a)
				}
			}
		}
	}
	slices.Sort(kms)
	if !slices.Equal(kms, []string{"auth kms:Decrypt", "auth kms:GenerateDataKey"}) {
		t.Errorf("kms actions = %v", kms)
	}
	// AND only auth may send SMS
	if !slices.Equal(publish, []string{"auth"}) {
		t.Errorf("sns:Publish granted to %v", publish)
	}
}
