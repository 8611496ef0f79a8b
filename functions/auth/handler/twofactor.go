package handler

import (
	"context"
	"net/http"
	"strings"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/service"
	"github.com/acme/accountadmin/shared/sms"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/tenancy"
	"github.com/acme/accountadmin/shared/twofactor"
	"github.com/acme/accountadmin/shared/twofactor/kmsseal"
)

// twoFactorService seals with the KMS key and texts through SNS when the
// environment names them (TWO_FACTOR_KEY_ID, SMS_ENABLED or a local SMS
// endpoint); the clients are built once, here, at init.
func twoFactorService(d service.Deps) *twofactor.Service {
	tf := &twofactor.Service{Store: d.Store, Clock: d.Clock, IDs: d.IDs, Sealer: kmsseal.FromEnv(d.AWS), Issuer: "Account administration"}
	if s := sms.FromEnv(d.AWS); s != nil {
		tf.SMS = s
	}
	return tf
}

type verifyRequest struct {
	Challenge string `json:"challenge"`
	Code      string `json:"code"`
}

// verify is POST /auth/sign-in/verify: the second step of a sign-in.
func (h handler) verify(ctx context.Context, in httpapi.In, body verifyRequest) (httpapi.Response, error) {
	var f apperr.Fields
	body.Code = strings.TrimSpace(body.Code)
	f.Check(body.Challenge != "" && len(body.Challenge) <= 200, "challenge", "required", "the challenge of the sign-in is required")
	f.Check(body.Code != "" && len(body.Code) <= 32, "code", "required", "the code (6 digits, or a recovery code) is required")
	if err := f.Err(); err != nil {
		return httpapi.Response{}, err
	}
	signed, err := h.auth.VerifySignIn(ctx, auth.Verify{Challenge: body.Challenge, Code: body.Code,
		IP: in.RequestContext.HTTP.SourceIP, UserAgent: in.RequestContext.HTTP.UserAgent})
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusCreated, signed), nil // no-store: the route's row
}

type smsRequest struct {
	Challenge string `json:"challenge"`
}

// sendSMS is POST /auth/sign-in/sms: a code texted for an open challenge
// that offers SMS (a user who also has an authenticator chooses it).
func (h handler) sendSMS(ctx context.Context, in httpapi.In, body smsRequest) (httpapi.Response, error) {
	var f apperr.Fields
	f.Check(body.Challenge != "" && len(body.Challenge) <= 200, "challenge", "required", "the challenge of the sign-in is required")
	if err := f.Err(); err != nil {
		return httpapi.Response{}, err
	}
	sent, err := h.auth.SendSignInSMS(ctx, body.Challenge)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, sent), nil
}

// twoFactorView is GET /me/two-factor: which methods, never a secret.
type twoFactorView struct {
	Methods           []string `json:"methods"`
	Phone             string   `json:"phone,omitempty"`
	PhoneVerified     bool     `json:"phoneVerified"`
	RecoveryCodesLeft int      `json:"recoveryCodesLeft"`
}

// caller is the request's caller and their user.
func (h handler) caller(ctx context.Context, in httpapi.In) (access.Caller, identity.User, error) {
	u, err := identity.LoadUser(ctx, h.auth.Store, in.Caller.Tenant, in.Caller.UserID)
	return in.Caller, u, err
}

func (h handler) twoFactorStatus(ctx context.Context, in httpapi.In) (httpapi.Response, error) {
	c, u, err := h.caller(ctx, in)
	if err != nil {
		return httpapi.Response{}, err
	}
	fs, err := h.auth.TwoFactor.Load(ctx, c.Tenant, u.ID)
	if err != nil {
		return httpapi.Response{}, err
	}
	v := twoFactorView{Methods: fs.Methods(u), Phone: u.Phone, PhoneVerified: u.Phone != "" && fs.SMSPhone == u.Phone, RecoveryCodesLeft: len(fs.Recovery)}
	if v.Methods == nil {
		v.Methods = []string{}
	}
	return httpapi.JSON(http.StatusOK, v), nil
}

// checkCurrentPassword validates the re-entered password of a change that
// a session alone must not make.
func checkCurrentPassword(f *apperr.Fields, password string) {
	f.Check(password != "", "currentPassword", "required", "your current password is required")
	f.Check(len(password) <= identity.MaxPasswordLength, "currentPassword", "too_long", "that is not your password")
}

// reprove checks the caller's current password through the limiter of
// password checks (403 wrong_password, 429 while locked); its writes go
// with the change it allows.
func (h handler) reprove(ctx context.Context, req httpapi.Request, c access.Caller, u identity.User, password string) ([]*store.Write, error) {
	settings, err := tenancy.Load(ctx, h.auth.Store, c.Tenant)
	if err != nil {
		return nil, err
	}
	reserved, err := h.auth.ProvePassword(ctx, c.Tenant, settings.Limit(), u, password, "currentPassword", req.RequestContext.HTTP.SourceIP)
	if err != nil {
		return nil, err
	}
	return reserved.Succeeded(), nil
}

type enrolRequest struct {
	Method          string `json:"method"` // totp or sms
	CurrentPassword string `json:"currentPassword"`
}

// startEnrolment is POST /me/two-factor: a new authenticator key (shown
// this once), or a code texted to the profile's mobile number. The current
// password is asked again, so that a stolen session cannot add a factor
// that would lock the rightful user out.
func (h handler) startEnrolment(ctx context.Context, in httpapi.In, body enrolRequest) (httpapi.Response, error) {
	var f apperr.Fields
	f.Check(body.Method == twofactor.MethodTOTP || body.Method == twofactor.MethodSMS, "method", "invalid", "method is totp or sms")
	checkCurrentPassword(&f, body.CurrentPassword)
	if err := f.Err(); err != nil {
		return httpapi.Response{}, err
	}
	c, u, err := h.caller(ctx, in)
	if err != nil {
		return httpapi.Response{}, err
	}
	proof, err := h.reprove(ctx, in.Request, c, u, body.CurrentPassword)
	if err != nil {
		return httpapi.Response{}, err
	}
	var out any
	if body.Method == twofactor.MethodTOTP {
		out, err = h.auth.TwoFactor.StartTOTP(ctx, c.Tenant, u, proof...)
	} else {
		out, err = h.auth.TwoFactor.StartPhone(ctx, c.Tenant, u, proof...)
	}
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, out), nil // no-store: the route's row
}

type confirmRequest struct {
	Method string `json:"method"`
	Code   string `json:"code"`
}

// confirmEnrolment is POST /me/two-factor/confirm: the first code proves
// the authenticator or the mobile; recovery codes are shown this once.
func (h handler) confirmEnrolment(ctx context.Context, in httpapi.In, body confirmRequest) (httpapi.Response, error) {
	var f apperr.Fields
	f.Check(body.Method == twofactor.MethodTOTP || body.Method == twofactor.MethodSMS, "method", "invalid", "method is totp or sms")
	f.Check(validCode(body.Code), "code", "invalid", "the code is 6 digits")
	if err := f.Err(); err != nil {
		return httpapi.Response{}, err
	}
	c, u, err := h.caller(ctx, in)
	if err != nil {
		return httpapi.Response{}, err
	}
	var out twofactor.Enrolled
	if body.Method == twofactor.MethodTOTP {
		out, err = h.auth.TwoFactor.ConfirmTOTP(ctx, c.Tenant, u, changelog.ActorOf(c), u.HomeAccountID, body.Code)
	} else {
		out, err = h.auth.TwoFactor.ConfirmPhone(ctx, c.Tenant, u, changelog.ActorOf(c), u.HomeAccountID, body.Code)
	}
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, out), nil // no-store: the route's row
}

type recoveryRequest struct {
	CurrentPassword string `json:"currentPassword"`
}

// regenerateRecovery is POST /me/two-factor/recovery-codes, with the
// current password asked again (new codes are a way in).
func (h handler) regenerateRecovery(ctx context.Context, in httpapi.In, body recoveryRequest) (httpapi.Response, error) {
	var f apperr.Fields
	checkCurrentPassword(&f, body.CurrentPassword)
	if err := f.Err(); err != nil {
		return httpapi.Response{}, err
	}
	c, u, err := h.caller(ctx, in)
	if err != nil {
		return httpapi.Response{}, err
	}
	proof, err := h.reprove(ctx, in.Request, c, u, body.CurrentPassword)
	if err != nil {
		return httpapi.Response{}, err
	}
	codes, err := h.auth.TwoFactor.RegenerateRecovery(ctx, c.Tenant, u, changelog.ActorOf(c), u.HomeAccountID, proof...)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, map[string]any{"recoveryCodes": codes}), nil // no-store: the route's row
}
