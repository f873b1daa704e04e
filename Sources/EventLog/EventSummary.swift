extension TCGPCREvent2 {
    /// A one-line human description of the decoded event data, for listings.
    public var summary: String {
        switch content {
        case .specID(let specID):
            let banks = specID.algorithms.map { "\($0.algorithm)(\($0.digestSize))" }.joined(separator: ", ")
            let vendor = EventContent.text(specID.vendorInfo[...]).map { ", vendor \"\($0)\"" } ?? ""
            return "Spec ID Event03: \(banks)\(vendor)"
        case .startupLocality(let locality):
            return "StartupLocality \(locality)"
        case .noAction(let signature):
            return signature
        case .separator(let value):
            switch value {
            case 0: return "separator"
            case 0xFFFF_FFFF: return "separator (firmware error)"
            default: return "separator 0x\(String(value, radix: 16))"
            }
        case .text(let text):
            return text
        case .firmwareBlob(let blob):
            return (blob.description.map { "\($0): " } ?? "") + "base 0x\(String(blob.base, radix: 16)) length 0x\(String(blob.length, radix: 16))"
        case .handoffTables(let pointers):
            let tables = pointers.tables.map { "\($0.vendorGUID)@0x\(String($0.address, radix: 16))" }.joined(separator: ", ")
            return (pointers.description.map { "\($0): " } ?? "") + tables
        case .variable(let variable):
            return "\(variable.unicodeName) \(variable.value.summary(size: variable.variableData.count))"
        case .imageLoad(let image):
            return image.devicePath.nodes.isEmpty ? "(no device path)" : image.devicePath.description
        case .gpt(let gpt):
            return "GPT disk \(gpt.diskGUID), \(gpt.partitions.count) partitions"
        case .taggedEvent(let tagged):
            return "tag 0x\(String(tagged.taggedEventID, radix: 16)), \(tagged.taggedEventData.count) bytes"
        case .raw:
            return "\(data.count) bytes"
        case .malformed(let error):
            return "malformed: \(error)"
        }
    }
}

extension UEFIVariableValue {
    func summary(size: Int) -> String {
        switch self {
        case .signatureLists(let lists):
            let signatures = lists.flatMap(\.signatures)
            let certificates = lists.flatMap(\.certificates)
            let subjects = certificates.map { "\"\($0.subject)\"" }.joined(separator: ", ")
            return "\(signatures.count) signatures (\(certificates.count) X.509\(subjects.isEmpty ? "" : ": " + subjects), \(lists.flatMap(\.sha256Hashes).count) SHA-256)"
        case .signature(let signature):
            return signature.certificate.map { "certificate \"\($0.subject)\"" } ?? "\(signature.data.count)-byte signature"
        case .boolean(let value):
            return "= \(value)"
        case .bootOrder(let order):
            return "= " + order.map { String($0, radix: 16, uppercase: true) }.joined(separator: ",")
        case .loadOption(let option):
            return "\"\(option.description)\" \(option.filePathList)"
        case .raw:
            return "\(size) bytes"
        }
    }
}
