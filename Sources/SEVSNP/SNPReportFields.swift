import EvidenceCore
import Foundation

/// A value in the field listing of a report: what `cvm snp show` prints and encodes as JSON.
public typealias SNPFieldValue = ListingValue

/// One named field of a report listing, named as the ABI's ATTESTATION_REPORT table names it
/// (lowercased).
public typealias SNPField = ListingField

extension SNPReport: Encodable, CustomStringConvertible {
    /// Every field of the report in ABI order, with bit fields and TCB values decoded (TCB
    /// components only when the product is known).
    public var fields: [SNPField] {
        var fields: [SNPField] = [
            SNPField("version", .integer(UInt64(self.version))),
            SNPField("guest_svn", .integer(UInt64(self.guestSVN))),
            SNPField("policy", .group(self.policy.fields)),
            SNPField("family_id", .bytes(self.familyID)),
            SNPField("image_id", .bytes(self.imageID)),
            SNPField("vmpl", .integer(UInt64(self.vmpl))),
            SNPField("signature_algo", .integer(UInt64(self.signatureAlgorithm))),
            SNPField("current_tcb", self.tcbField(self.currentTCB)),
            SNPField("platform_info", .group(self.platformInfo.fields)),
            SNPField("author_key_en", .flag(self.authorKeyEnabled)),
            SNPField("mask_chip_key", .flag(self.maskChipKey)),
            SNPField("signing_key", .text(self.signingKey.name)),
            SNPField("report_data", .bytes(self.reportData)),
            SNPField("measurement", .bytes(self.measurement)),
            SNPField("host_data", .bytes(self.hostData)),
            SNPField("id_key_digest", .bytes(self.idKeyDigest)),
            SNPField("author_key_digest", .bytes(self.authorKeyDigest)),
            SNPField("report_id", .bytes(self.reportID)),
            SNPField("report_id_ma", .bytes(self.reportIDMA)),
            SNPField("reported_tcb", self.tcbField(self.reportedTCB)),
        ]
        if let cpuid = self.cpuid {
            fields.append(SNPField("cpuid", .group([
                SNPField("family", .integer(UInt64(cpuid.family))),
                SNPField("model", .integer(UInt64(cpuid.model))),
                SNPField("stepping", .integer(UInt64(cpuid.stepping))),
            ])))
        }
        if let product = self.product {
            fields.append(SNPField("product", .text(product.rawValue)))
        }
        fields += [
            SNPField("chip_id", .bytes(self.chipID)),
            SNPField("committed_tcb", self.tcbField(self.committedTCB)),
            SNPField("current_version", .text(self.currentFirmware.description)),
            SNPField("committed_version", .text(self.committedFirmware.description)),
            SNPField("launch_tcb", self.tcbField(self.launchTCB)),
        ]
        if let launch = self.launchMitigationVector, let current = self.currentMitigationVector {
            fields.append(SNPField("launch_mit_vector", .integer(launch)))
            fields.append(SNPField("current_mit_vector", .integer(current)))
        }
        fields.append(SNPField("signature", .group([
            SNPField("r", .bytes(self.signature.r.reversed())),
            SNPField("s", .bytes(self.signature.s.reversed())),
        ])))
        return fields
    }

    private func tcbField(_ tcb: TCBVersion) -> SNPFieldValue {
        var fields = [SNPField("raw", .text(hex64(tcb.rawValue)))]
        if let product = self.product {
            for component in tcb.components(for: product).named {
                if let value = component.value { fields.append(SNPField(component.name, .integer(UInt64(value)))) }
            }
        }
        return .group(fields)
    }

    public func encode(to encoder: any Encoder) throws {
        try SNPFieldValue.group(self.fields).encode(to: encoder)
    }

    /// The field listing, one `name: value` per line, sub-fields indented.
    public var description: String {
        SNPFieldValue.group(self.fields).description
    }
}

extension SNPGuestPolicy {
    var fields: [SNPField] {
        [
            SNPField("raw", .text(hex64(self.rawValue))),
            SNPField("abi_major", .integer(UInt64(self.abiMajor))),
            SNPField("abi_minor", .integer(UInt64(self.abiMinor))),
        ] + flags([
            ("smt", self.smtAllowed), ("migrate_ma", self.migrationAgentAllowed), ("debug", self.debugAllowed),
            ("single_socket", self.singleSocketRequired), ("cxl_allow", self.cxlAllowed),
            ("mem_aes_256_xts", self.memAES256XTSRequired), ("rapl_dis", self.raplDisabledRequired),
            ("ciphertext_hiding", self.ciphertextHidingRequired), ("page_swap_disable", self.pageSwapDisabled),
        ])
    }
}

extension SNPPlatformInfo {
    var fields: [SNPField] {
        [SNPField("raw", .text(hex64(self.rawValue)))] + flags([
            ("smt_en", self.smtEnabled), ("tsme_en", self.tsmeEnabled), ("ecc_en", self.eccEnabled),
            ("rapl_dis", self.raplDisabled), ("ciphertext_hiding_en", self.ciphertextHidingEnabled),
            ("alias_check_complete", self.aliasCheckComplete), ("tio_en", self.tioEnabled),
        ])
    }
}

private func flags(_ named: [(String, Bool)]) -> [SNPField] {
    named.map { SNPField($0.0, .flag($0.1)) }
}
