package stack

import (
	"errors"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/acme/accountadmin/shared/routes"
)

// StackProps configure the deployment. The zero value of every optional field
// means "the default described next to it".
type StackProps struct {
	awscdk.StackProps

	// Stage names the environment (DefaultStage when empty): the stack
	// (StackID) and every explicitly named resource carry it, so stages
	// deploy side by side in one account and region.
	Stage string

	// AssetDir holds one <function>.zip per function (a `bootstrap` binary
	// for linux/arm64), as `make build` writes them to dist/.
	AssetDir string

	// SenderEmail is the From address of every email (SENDER_EMAIL). Required.
	SenderEmail string
	// SenderDomain, when set, makes the SES identity the whole domain
	// instead of the single SenderEmail address; SenderEmail must be in it.
	SenderDomain string
	// AllowExampleSender lets a sender at a reserved example domain
	// (example.com, .test, ...) synthesise; SES can never send from one.
	AllowExampleSender bool
	// SenderName is the display name of the From address (SENDER_NAME);
	// empty sends the bare address.
	SenderName string
	// ReplyToInviter makes an invitation's Reply-To its inviter
	// (REPLY_TO_INVITER).
	ReplyToInviter bool
	// PublicBaseURL is where links in emails point (PUBLIC_BASE_URL); empty
	// means https://DomainName when a custom domain is set, else the HTTP
	// API's own endpoint.
	PublicBaseURL string
	// DomainName and CertificateARN (both or neither) give the API a custom
	// domain: an ACM certificate for it in the stack's region.
	DomainName     string
	CertificateARN string
	// CorsOrigins are the browser origins allowed to call the API; none
	// means no CORS configuration at all.
	CorsOrigins []string

	// ThrottleRate (requests per second) and ThrottleBurst bound the
	// default stage: the shared limit of every route without its own;
	// zero means DefaultThrottleRate / DefaultThrottleBurst.
	ThrottleRate  float64
	ThrottleBurst float64
	// PublicRate and PublicBurst are the lower, separate limits of each
	// public route (Auth false in the route table: sign-in and the
	// invitation link), which anyone can call without a session; zero
	// means DefaultPublicRate / DefaultPublicBurst (or the shared limit,
	// when lower). They may not exceed the shared limit.
	PublicRate  float64
	PublicBurst float64

	// AlarmEmail, when set, is subscribed to the alarm topic.
	AlarmEmail string

	// SMSSenderID is the alphanumeric sender id of SMS codes (where the
	// destination country allows one); empty uses the account's default.
	SMSSenderID string

	// Routes and Jobs default (when nil) to routes.Table and routes.Jobs, the
	// tables the local HTTP API serves; tests pass others to exercise
	// functions and jobs the service does not have yet.
	Routes []routes.Route
	Jobs   []routes.Job
}

// Defaults of the optional props.
const (
	DefaultThrottleRate  = 50
	DefaultThrottleBurst = 100
	DefaultPublicRate    = 10
	DefaultPublicBurst   = 20
	DefaultAssetDir      = "dist" // relative to the repository root
)

// Context keys read by PropsFromContext (set in cdk.json or with -c key=value).
const (
	CtxSenderEmail   = "senderEmail"
	CtxSenderDomain  = "senderDomain"
	CtxPublicBaseURL = "publicBaseUrl"
	CtxCorsOrigins   = "corsOrigins"        // comma separated
	CtxAssetDir      = "assetDir"           // relative to the repository root
	CtxThrottleRate  = "throttleRateLimit"  // the stage's shared limit, requests per second
	CtxThrottleBurst = "throttleBurstLimit" // the stage's shared burst
	CtxPublicRate    = "publicRateLimit"    // each public route's own limit, requests per second
	CtxPublicBurst   = "publicBurstLimit"   // each public route's own burst
	CtxAlarmEmail    = "alarmEmail"
	CtxSMSSenderID   = "smsSenderId"

	CtxStage              = "stage"
	CtxStages             = "stages" // an object: stage name → that stage's context
	CtxDomainName         = "domainName"
	CtxCertificateARN     = "certificateArn"
	CtxSenderName         = "senderName"
	CtxReplyToInviter     = "replyToInviter"     // true or false
	CtxAllowExampleSender = "allowExampleSender" // true or false
)

// PropsFromContext reads the props from the CDK context, resolving the asset
// directory against the repository root (the folder holding go.mod, found
// from the working directory upwards). The stage's entry of the "stages"
// object supplies its own values; a key given on the command line (-c
// key=value) overrides it, and cdk.json's flat values are the defaults of
// every stage.
func PropsFromContext(node constructs.Node) (*StackProps, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("read context: %w", err)
	}
	root, err := RepoRoot(wd)
	if err != nil {
		return nil, fmt.Errorf("read context: %w", err)
	}
	defaults, err := cdkJSONContext(root)
	if err != nil {
		return nil, err
	}
	return propsFromContext(node, defaults, root)
}

// propsFromContext is PropsFromContext with cdk.json's flat context and the
// repository root given.
func propsFromContext(node constructs.Node, defaults map[string]any, root string) (*StackProps, error) {
	flat := func(key string) any { return node.TryGetContext(jsii.String(key)) }
	asString := func(v any) string {
		switch v := v.(type) {
		case string:
			return strings.TrimSpace(v)
		case float64:
			return strconv.FormatFloat(v, 'f', -1, 64)
		case bool:
			return strconv.FormatBool(v)
		default:
			return ""
		}
	}
	stage := asString(flat(CtxStage))
	if err := validateStage(stage); err != nil {
		return nil, err
	}
	if stage == "" {
		stage = DefaultStage
	}
	stageCtx, err := stageContext(flat(CtxStages), stage)
	if err != nil {
		return nil, err
	}
	layers := contextLayers{flat: flat, stage: stageCtx, defaults: defaults}
	str := func(key string) string { return asString(layers.get(key)) }
	num := func(key string) (float64, error) {
		s := str(key)
		if s == "" {
			return 0, nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f <= 0 {
			return 0, fmt.Errorf("context %s: %q is not a positive number", key, s)
		}
		return f, nil
	}
	boolean := func(key string) (bool, error) {
		switch s := str(key); s {
		case "", "false":
			return false, nil
		case "true":
			return true, nil
		default:
			return false, fmt.Errorf("context %s: %q is neither true nor false", key, s)
		}
	}

	p := &StackProps{
		Stage:          stage,
		SenderEmail:    str(CtxSenderEmail),
		SenderDomain:   str(CtxSenderDomain),
		SenderName:     str(CtxSenderName),
		PublicBaseURL:  str(CtxPublicBaseURL),
		DomainName:     str(CtxDomainName),
		CertificateARN: str(CtxCertificateARN),
		CorsOrigins:    splitList(str(CtxCorsOrigins)),
		AlarmEmail:     str(CtxAlarmEmail),
		SMSSenderID:    str(CtxSMSSenderID),
	}
	if p.ReplyToInviter, err = boolean(CtxReplyToInviter); err != nil {
		return nil, err
	}
	if p.AllowExampleSender, err = boolean(CtxAllowExampleSender); err != nil {
		return nil, err
	}
	if p.ThrottleRate, err = num(CtxThrottleRate); err != nil {
		return nil, err
	}
	if p.ThrottleBurst, err = num(CtxThrottleBurst); err != nil {
		return nil, err
	}
	if p.PublicRate, err = num(CtxPublicRate); err != nil {
		return nil, err
	}
	if p.PublicBurst, err = num(CtxPublicBurst); err != nil {
		return nil, err
	}

	dir := str(CtxAssetDir)
	if dir == "" {
		dir = DefaultAssetDir
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(root, dir)
	}
	p.AssetDir = dir
	return p, nil
}

// RepoRoot is the nearest folder at or above start that holds go.mod.
func RepoRoot(start string) (string, error) {
	dir, err := filepath.Abs(start)
	if err != nil {
		return "", fmt.Errorf("find repository root from %s: %w", start, err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("find repository root: no go.mod at or above %s", start)
		}
		dir = parent
	}
}

// Validate reports every problem with the props at once: a missing or
// malformed sender, a sender outside its domain, a missing function bundle.
func (p *StackProps) Validate() error {
	if p == nil {
		return errors.New("stack props are required")
	}
	var errs []error
	if err := validateStage(p.Stage); err != nil {
		errs = append(errs, err)
	}
	if err := p.validateDomain(); err != nil {
		errs = append(errs, err)
	}
	if err := p.validateSenderIsReal(); err != nil {
		errs = append(errs, err)
	}
	addr, err := mail.ParseAddress(p.SenderEmail)
	switch {
	case p.SenderEmail == "":
		errs = append(errs, fmt.Errorf("the sender email is not set (context %s)", CtxSenderEmail))
	case err != nil || addr.Address != p.SenderEmail:
		errs = append(errs, fmt.Errorf("the sender email %q is not a bare email address", p.SenderEmail))
	case p.SenderDomain != "" && !strings.HasSuffix(strings.ToLower(p.SenderEmail), "@"+strings.ToLower(p.SenderDomain)):
		errs = append(errs, fmt.Errorf("the sender email %q is not in the sender domain %q", p.SenderEmail, p.SenderDomain))
	}
	rate, burst := p.throttle()
	publicRate, publicBurst := p.publicThrottle()
	if publicRate > rate || publicBurst > burst {
		errs = append(errs, fmt.Errorf("the public routes' limit %v/s, burst %v (context %s, %s) exceeds the shared limit %v/s, burst %v (context %s, %s)",
			publicRate, publicBurst, CtxPublicRate, CtxPublicBurst, rate, burst, CtxThrottleRate, CtxThrottleBurst))
	}
	for _, r := range p.routeTable() {
		if !httpMethods[r.Method] || !strings.HasPrefix(r.Path, "/") || r.Function == "" {
			errs = append(errs, fmt.Errorf("route %q on function %q: want an upper-case HTTP method, a path from / and a function", r.Key(), r.Function))
		}
	}
	for _, j := range p.jobTable() {
		if j.Name == "" || j.Function == "" || j.DetailType == "" ||
			!(strings.HasPrefix(j.Schedule, "rate(") || strings.HasPrefix(j.Schedule, "cron(")) {
			errs = append(errs, fmt.Errorf("job %q: want a name, a function, a detail-type and a rate(...) or cron(...) schedule", j.Name))
		}
	}
	if p.AssetDir == "" {
		errs = append(errs, errors.New("the asset directory is not set"))
	} else {
		var missing []string
		for _, fn := range p.functions() {
			if _, err := os.Stat(p.bundle(fn)); err != nil {
				missing = append(missing, fn+".zip")
			}
		}
		if len(missing) > 0 {
			errs = append(errs, fmt.Errorf("function bundles missing from %s: %s (run `make build` first)",
				p.AssetDir, strings.Join(missing, ", ")))
		}
	}
	return errors.Join(errs...)
}

// httpMethods are the methods an HTTP API route may have.
var httpMethods = map[string]bool{"GET": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "HEAD": true, "OPTIONS": true, "ANY": true}

// routeTable is the route table to deploy.
func (p *StackProps) routeTable() []routes.Route {
	if p.Routes == nil {
		return routes.Table
	}
	return p.Routes
}

// jobTable is the job table to deploy.
func (p *StackProps) jobTable() []routes.Job {
	if p.Jobs == nil {
		return routes.Jobs
	}
	return p.Jobs
}

// functions lists every function folder of the deployed tables, in the order
// routes.Functions() gives for the default tables: the route handlers, then
// the jobs, then the stream consumers, then the consumers of SES's mail
// events.
func (p *StackProps) functions() []string {
	seen := map[string]bool{}
	var out []string
	add := func(f string) {
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	for _, r := range p.routeTable() {
		add(r.Function)
	}
	for _, j := range p.jobTable() {
		add(j.Function)
	}
	for _, f := range routes.StreamConsumers {
		add(f)
	}
	for _, f := range routes.MailEventConsumers {
		add(f)
	}
	return out
}

// bundle is the path of a function's zip.
func (p *StackProps) bundle(function string) string {
	return filepath.Join(p.AssetDir, function+".zip")
}

func (p *StackProps) throttle() (rate, burst float64) {
	rate, burst = p.ThrottleRate, p.ThrottleBurst
	if rate == 0 {
		rate = DefaultThrottleRate
	}
	if burst == 0 {
		burst = DefaultThrottleBurst
	}
	return rate, burst
}

// publicThrottle is the limit of each public route; an unset one is its
// default, or the shared limit when that is lower.
func (p *StackProps) publicThrottle() (rate, burst float64) {
	sharedRate, sharedBurst := p.throttle()
	rate, burst = p.PublicRate, p.PublicBurst
	if rate == 0 {
		rate = min(DefaultPublicRate, sharedRate)
	}
	if burst == 0 {
		burst = min(DefaultPublicBurst, sharedBurst)
	}
	return rate, burst
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
