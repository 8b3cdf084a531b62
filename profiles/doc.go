// Package profiles reads the profiles an SM-DP+ serves and decides whether a card can hold them.
//
// Input is a SAIP Unprotected Profile Package (UPP): the TCA (formerly SIMalliance) eUICC Profile
// Package Interoperable Format, module PEDefinitions v3.3.1, which SGP.22 §2.5 names as the
// content of the Bound Profile Package. A UPP is a concatenation of DER ProfileElements, a CHOICE
// whose alternatives are tagged automatically ([0] header → A0, [10] end → AA, [16] mf → B0, …),
// starting with the header and ending with end. Parse walks and validates every element, decodes
// the ProfileHeader and the elements the SM-DP+ acts on, and keeps each element's bytes.
//
// From a Package come the profile metadata for StoreMetadata (SGP.22 §5.5.3, Metadata) and what
// the profile needs of a card (Requirements). The memory-aware eligibility check (CanInstall,
// MaxInstalls, MaxSelectedChannels, Check) follows the Java Card memory model of the project design
// (DESIGN.md, "Memory-aware eligibility"), fed by the eUICC's extCardResource (SGP.22 EUICCInfo2,
// ETSI TS 102 226 §8.2.1.7.2, ParseExtCardResource).
//
// Everything here is a pure function of its arguments.
package profiles
