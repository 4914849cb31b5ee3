# `sam build` runs `make build-<Function>` in this directory (samconfig.toml sets
# build_in_source) with ARTIFACTS_DIR set, once per function of template.yaml.
# scripts/sam-artifact builds every function binary in one cargo invocation (the first call
# does the work; the others find it done) and copies the one asked for as `bootstrap`.
# ADMIT_LAMBDA_BUILD and ADMIT_LAMBDA_ARCH choose the build (scripts/sam-artifact says how).

# BEGIN functions: made from the endpoint table (functions/src/lib.rs) by scripts/generate
build-LoginUserFunction:
	@scripts/sam-artifact login_user "$(ARTIFACTS_DIR)"
build-LogoutUserFunction:
	@scripts/sam-artifact logout_user "$(ARTIFACTS_DIR)"
build-AssignMemberToTeamsFunction:
	@scripts/sam-artifact assign_member_to_teams "$(ARTIFACTS_DIR)"
build-GetPublicMITeamsFunction:
	@scripts/sam-artifact get_public_mi_teams "$(ARTIFACTS_DIR)"
build-ListNotificationsFunction:
	@scripts/sam-artifact list_notifications "$(ARTIFACTS_DIR)"
build-MarkNotificationsReadFunction:
	@scripts/sam-artifact mark_notifications_read "$(ARTIFACTS_DIR)"
build-RegisterDeviceFunction:
	@scripts/sam-artifact register_device "$(ARTIFACTS_DIR)"
build-RemoveDeviceFunction:
	@scripts/sam-artifact remove_device "$(ARTIFACTS_DIR)"
build-SelfRegisterMIUserFunction:
	@scripts/sam-artifact self_register_mi_user "$(ARTIFACTS_DIR)"
build-InviteMIUserFunction:
	@scripts/sam-artifact invite_mi_user "$(ARTIFACTS_DIR)"
build-GetMIInvitationFunction:
	@scripts/sam-artifact get_mi_invitation "$(ARTIFACTS_DIR)"
build-AcceptMIInvitationFunction:
	@scripts/sam-artifact accept_mi_invitation "$(ARTIFACTS_DIR)"
build-AcceptInvitationPageFunction:
	@scripts/sam-artifact accept_invitation_page "$(ARTIFACTS_DIR)"
build-VerifyEmailPageFunction:
	@scripts/sam-artifact verify_email_page "$(ARTIFACTS_DIR)"
build-ResetPasswordPageFunction:
	@scripts/sam-artifact reset_password_page "$(ARTIFACTS_DIR)"
build-InvitePlatformUsersFunction:
	@scripts/sam-artifact invite_platform_users "$(ARTIFACTS_DIR)"
build-GetBusinessSettingsFunction:
	@scripts/sam-artifact get_business_settings "$(ARTIFACTS_DIR)"
build-MyBusinessesFunction:
	@scripts/sam-artifact my_businesses "$(ARTIFACTS_DIR)"
build-PutBusinessSettingsFunction:
	@scripts/sam-artifact put_business_settings "$(ARTIFACTS_DIR)"
build-ListInvitationsFunction:
	@scripts/sam-artifact list_invitations "$(ARTIFACTS_DIR)"
build-ResendInvitationFunction:
	@scripts/sam-artifact resend_invitation "$(ARTIFACTS_DIR)"
build-RevokeInvitationFunction:
	@scripts/sam-artifact revoke_invitation "$(ARTIFACTS_DIR)"
build-GetEmailVerificationFunction:
	@scripts/sam-artifact get_email_verification "$(ARTIFACTS_DIR)"
build-VerifyEmailFunction:
	@scripts/sam-artifact verify_email "$(ARTIFACTS_DIR)"
build-RequestPasswordResetFunction:
	@scripts/sam-artifact request_password_reset "$(ARTIFACTS_DIR)"
build-ResetPasswordFunction:
	@scripts/sam-artifact reset_password "$(ARTIFACTS_DIR)"
build-GetMemberProfileFunction:
	@scripts/sam-artifact get_member_profile "$(ARTIFACTS_DIR)"
build-InviteSiteUsersFunction:
	@scripts/sam-artifact invite_site_users "$(ARTIFACTS_DIR)"
build-UserActivityReportFunction:
	@scripts/sam-artifact user_activity_report "$(ARTIFACTS_DIR)"
build-DispatchOutboxFunction:
	@scripts/sam-artifact dispatch_outbox "$(ARTIFACTS_DIR)"
# END functions
