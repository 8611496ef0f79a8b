// Package handler serves sign-in (and its second step), sign-out, GET /me
// and enrolling second factors: the rows of the route table (shared/routes)
// whose Function is "auth", each registered under its row's Op.
package handler

import (
	"context"
	"net/http"
	"strings"

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/service"
	"github.com/acme/accountadmin/shared/table"
)

type handler struct{ auth *auth.Service }

// New returns the function's Lambda handler.
func New(d service.Deps) httpapi.LambdaHandler {
	h := handler{auth: &auth.Service{Store: d.Store, Clock: d.Clock, IDs: d.IDs}}
	if d.Mail != nil && d.Sender != "" {
		h.auth.Mail = d.Mail // proves an unverified address at first sign-in
	}
	h.auth.TwoFactor = twoFactorService(d)
	server := httpapi.Server{Log: d.Log, Sessions: h.auth}
	return server.Serve(httpapi.Ops{
		"signIn":                  httpapi.JSONBody(h.signIn),
		"signOut":                 h.signOut,
		"getMe":                   h.me,
		"verifySignIn":            httpapi.JSONBody(h.verify),
		"sendSignInSMS":           httpapi.JSONBody(h.sendSMS),
		"getTwoFactor":            h.twoFactorStatus,
		"startTwoFactor":          httpapi.JSONBody(h.startEnrolment),
		"confirmTwoFactor":        httpapi.JSONBody(h.confirmEnrolment),
		"regenerateRecoveryCodes": httpapi.JSONBody(h.regenerateRecovery),
	})
}

type signInRequest struct {
	Tenant    string `json:"tenant"`
	Email     string `json:"email"`
	Password  string `json:"password"`
	AccountID string `json:"accountId,omitempty"`
	// EmailCode is the code emailed to prove an unverified address
	// (answer 403 email_code_required to the sign-in without it).
	EmailCode string `json:"emailCode,omitempty"`
}

func (h handler) signIn(ctx context.Context, in httpapi.In, body signInRequest) (httpapi.Response, error) {
	var f apperr.Fields
	t, terr := table.ForTenant(strings.TrimSpace(body.Tenant))
	f.Check(terr == nil, "tenant", "required", "the tenant id is required")
	email, eerr := identity.NormalizeEmail(body.Email)
	if eerr != nil {
		fe := identity.EmailFieldError(eerr)
		f.Add("email", fe.Code, fe.Detail)
	}
	f.Check(body.Password != "", "password", "required", "the password is required")
	f.Check(len(body.Password) <= identity.MaxPasswordLength, "password", "too_long", "the password is too long")
	if len(body.AccountID) > ids.MaxLength {
		f.Add("accountId", "too_long", "not an account id")
	} else if body.AccountID != "" && !ids.Valid(body.AccountID) {
		f.Add("accountId", "invalid", "not an account id")
	}
	f.Check(body.EmailCode == "" || validCode(body.EmailCode), "emailCode", "invalid", "the code is the 6 digits of the email")
	if err := f.Err(); err != nil {
		return httpapi.Response{}, err
	}
	signed, err := h.auth.SignIn(ctx, auth.SignIn{Tenant: t, Email: email, Password: body.Password, AccountID: body.AccountID, EmailCode: body.EmailCode,
		IP: in.RequestContext.HTTP.SourceIP, UserAgent: in.RequestContext.HTTP.UserAgent})
	if err != nil {
		return httpapi.Response{}, err
	}
	if signed.SecondStep != nil { // no session yet: POST /auth/sign-in/verify
		resp := httpapi.JSON(http.StatusOK, signed.SecondStep)
		resp.Headers["Cache-Control"] = "no-store"
		return resp, nil
	}
	resp := httpapi.JSON(http.StatusCreated, signed)
	resp.Headers["Cache-Control"] = "no-store"
	return resp, nil
}

func (h handler) signOut(ctx context.Context, in httpapi.In) (httpapi.Response, error) {
	tok, _ := identity.BearerToken(httpapi.Header(in.Request, "Authorization"))
	if err := h.auth.SignOut(ctx, in.Caller, tok); err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.NoContent(), nil
}

func (h handler) me(ctx context.Context, in httpapi.In) (httpapi.Response, error) {
	me, err := h.auth.Me(ctx, in.Caller)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, me), nil
}

func validCode(s string) bool {
	if len(s) != 6 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
