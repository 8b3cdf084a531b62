package rsp

// Named INTEGER values and named bits of RSPDefinitions (SGP.22 Annex H). An INTEGER
// with named numbers may carry any value on the wire (later versions add some), so decoders
// accept values not listed here.

// RemoteOpId identifies the remote operation of InitialiseSecureChannelRequest (SGP.22 §5.5.1).
type RemoteOpId int64

// RemoteOpId values.
const (
	RemoteOpIdInstallBoundProfilePackage RemoteOpId = 1
)

// ProfileClass is the class of a Profile (SGP.22 §5.5.3 StoreMetadataRequest, §5.7.15 ProfileInfo).
type ProfileClass int64

// ProfileClass values.
const (
	ProfileClassTest         ProfileClass = 0
	ProfileClassProvisioning ProfileClass = 1
	ProfileClassOperational  ProfileClass = 2
)

// IconType is the format of a Profile icon (SGP.22 §5.5.3).
type IconType int64

// IconType values.
const (
	IconTypeJPG IconType = 0
	IconTypePNG IconType = 1
)

// ProfileState is the state of an installed Profile (SGP.22 §5.7.15, ProfileInfo).
type ProfileState int64

// ProfileState values.
const (
	ProfileStateDisabled ProfileState = 0
	ProfileStateEnabled  ProfileState = 1
)

// DownloadErrorCode is the error of PrepareDownloadResponseError (SGP.22 §5.7.5).
type DownloadErrorCode int64

// DownloadErrorCode values.
const (
	DownloadErrorCodeInvalidCertificate   DownloadErrorCode = 1
	DownloadErrorCodeInvalidSignature     DownloadErrorCode = 2
	DownloadErrorCodeUnsupportedCurve     DownloadErrorCode = 3
	DownloadErrorCodeNoSessionContext     DownloadErrorCode = 4
	DownloadErrorCodeInvalidTransactionId DownloadErrorCode = 5
	DownloadErrorCodeUndefinedError       DownloadErrorCode = 127
)

// AuthenticateErrorCode is the error of AuthenticateResponseError (SGP.22 §5.7.13).
type AuthenticateErrorCode int64

// AuthenticateErrorCode values.
const (
	AuthenticateErrorCodeInvalidCertificate     AuthenticateErrorCode = 1
	AuthenticateErrorCodeInvalidSignature       AuthenticateErrorCode = 2
	AuthenticateErrorCodeUnsupportedCurve       AuthenticateErrorCode = 3
	AuthenticateErrorCodeNoSessionContext       AuthenticateErrorCode = 4
	AuthenticateErrorCodeInvalidOid             AuthenticateErrorCode = 5
	AuthenticateErrorCodeEuiccChallengeMismatch AuthenticateErrorCode = 6
	AuthenticateErrorCodeCiPKUnknown            AuthenticateErrorCode = 7
	AuthenticateErrorCodeUndefinedError         AuthenticateErrorCode = 127
)

// CancelSessionReason is why the LPA or eUICC cancels a download session (SGP.22 §5.7.14,
// §5.6.5).
type CancelSessionReason int64

// CancelSessionReason values.
const (
	CancelSessionReasonEndUserRejection CancelSessionReason = 0
	CancelSessionReasonPostponed        CancelSessionReason = 1
	CancelSessionReasonTimeout          CancelSessionReason = 2
	CancelSessionReasonPprNotAllowed    CancelSessionReason = 3
)

// CancelSessionResponseError is the cancelSessionResponseError alternative of
// CancelSessionResponse (SGP.22 §5.7.14).
type CancelSessionResponseError int64

// CancelSessionResponseError values.
const (
	CancelSessionResponseErrorInvalidTransactionId CancelSessionResponseError = 5
	CancelSessionResponseErrorUndefinedError       CancelSessionResponseError = 127
)

// BppCommandId names the BPP command during which an installation failed
// (ProfileInstallationResult ErrorResult, SGP.22 §5.7.6).
type BppCommandId int64

// BppCommandId values.
const (
	BppCommandIdInitialiseSecureChannel BppCommandId = 0
	BppCommandIdConfigureISDP           BppCommandId = 1
	BppCommandIdStoreMetadata           BppCommandId = 2
	BppCommandIdStoreMetadata2          BppCommandId = 3
	BppCommandIdReplaceSessionKeys      BppCommandId = 4
	BppCommandIdLoadProfileElements     BppCommandId = 5
)

// ErrorReason is why a BPP command failed (ProfileInstallationResult ErrorResult,
// SGP.22 §5.7.6).
type ErrorReason int64

// ErrorReason values.
const (
	ErrorReasonIncorrectInputValues                        ErrorReason = 1
	ErrorReasonInvalidSignature                            ErrorReason = 2
	ErrorReasonInvalidTransactionId                        ErrorReason = 3
	ErrorReasonUnsupportedCrtValues                        ErrorReason = 4
	ErrorReasonUnsupportedRemoteOperationType              ErrorReason = 5
	ErrorReasonUnsupportedProfileClass                     ErrorReason = 6
	ErrorReasonScp03tStructureError                        ErrorReason = 7
	ErrorReasonScp03tSecurityError                         ErrorReason = 8
	ErrorReasonInstallFailedDueToIccidAlreadyExistsOnEuicc ErrorReason = 9
	ErrorReasonInstallFailedDueToInsufficientMemory        ErrorReason = 10 // installFailedDueToInsufficientMemoryForProfile
	ErrorReasonInstallFailedDueToInterruption              ErrorReason = 11
	ErrorReasonInstallFailedDueToPEProcessingError         ErrorReason = 12
	ErrorReasonInstallFailedDueToIccidMismatch             ErrorReason = 13
	ErrorReasonTestProfileInstallFailedDueToInvalidNaaKey  ErrorReason = 14
	ErrorReasonPprNotAllowed                               ErrorReason = 15
	ErrorReasonInstallFailedDueToUnknownError              ErrorReason = 127
)

// ProfileInfoListError is the profileInfoListError alternative of ProfileInfoListResponse
// (SGP.22 §5.7.15).
type ProfileInfoListError int64

// ProfileInfoListError values.
const (
	ProfileInfoListErrorIncorrectInputValues ProfileInfoListError = 1
	ProfileInfoListErrorUndefinedError       ProfileInfoListError = 127
)

// ListNotificationsResultError is the listNotificationsResultError alternative of
// ListNotificationResponse (SGP.22 §5.7.9).
type ListNotificationsResultError int64

// ListNotificationsResultError values.
const ListNotificationsResultErrorUndefinedError ListNotificationsResultError = 127

// NotificationsListResultError is the notificationsListResultError alternative of
// RetrieveNotificationsListResponse (SGP.22 §5.7.10).
type NotificationsListResultError int64

// NotificationsListResultError values.
const (
	NotificationsListResultErrorNoResultAvailable NotificationsListResultError = 1
	NotificationsListResultErrorUndefinedError    NotificationsListResultError = 127
)

// EuiccCategory is the euiccCategory field of EUICCInfo2 (SGP.22 §5.7.8).
type EuiccCategory int64

// EuiccCategory values.
const (
	EuiccCategoryOther            EuiccCategory = 0
	EuiccCategoryBasicEuicc       EuiccCategory = 1
	EuiccCategoryMediumEuicc      EuiccCategory = 2
	EuiccCategoryContactlessEuicc EuiccCategory = 3
)

// Bit numbers of NotificationEvent (SGP.22 §5.5.3, §5.7.9), for tlv.NamedBits and BitString.At.
const (
	NotificationInstall = 0
	NotificationEnable  = 1
	NotificationDisable = 2
	NotificationDelete  = 3
)

// Bit numbers of RspCapability (EUICCInfo2, SGP.22 §5.7.8).
const (
	RspCapabilityAdditionalProfile  = 0
	RspCapabilityCrlSupport         = 1
	RspCapabilityRpmSupport         = 2
	RspCapabilityTestProfileSupport = 3
)

// Bit numbers of PprIds, the Profile Policy Rules (SGP.22 §2.9).
const (
	PprUpdateControl = 0
	Ppr1             = 1
	Ppr2             = 2
	Ppr3             = 3
)

// Bit numbers of UICCCapability (EUICCInfo2, SGP.22 §5.7.8).
const (
	UICCCapabilityContactlessSupport  = 0
	UICCCapabilityUsimSupport         = 1
	UICCCapabilityIsimSupport         = 2
	UICCCapabilityCsimSupport         = 3
	UICCCapabilityAkaMilenage         = 4
	UICCCapabilityAkaCave             = 5
	UICCCapabilityAkaTuak128          = 6
	UICCCapabilityAkaTuak256          = 7
	UICCCapabilityGbaAuthenUsim       = 10
	UICCCapabilityGbaAuthenISim       = 11
	UICCCapabilityMbmsAuthenUsim      = 12
	UICCCapabilityEapClient           = 13
	UICCCapabilityJavacard            = 14
	UICCCapabilityMultos              = 15
	UICCCapabilityMultipleUsimSupport = 16
	UICCCapabilityMultipleIsimSupport = 17
	UICCCapabilityMultipleCsimSupport = 18
)
