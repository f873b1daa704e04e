/// TPMS_PCR_SELECTION: a bank and a bitmap of PCR indices (TPM 2.0 Part 2 §10.6.2).
public struct TPMSPCRSelection: Hashable, Sendable, TPMMarshalable {
    public var hash: TPMAlgorithmID
    /// pcrSelect: bit n of byte n/8 selects PCR n.
    public var bitmap: [UInt8]

    public init(hash: TPMAlgorithmID, bitmap: [UInt8]) {
        self.hash = hash
        self.bitmap = bitmap
    }

    /// A selection of the given PCR indices with the platform's 3-byte bitmap.
    public init(hash: TPMAlgorithmID, indices: some Sequence<Int>, sizeofSelect: Int = TPMLimits.maxPCRSelect) {
        var bitmap = [UInt8](repeating: 0, count: sizeofSelect)
        for index in indices where index / 8 < sizeofSelect { bitmap[index / 8] |= 1 << (index % 8) }
        self.init(hash: hash, bitmap: bitmap)
    }

    /// The selected PCR indices in ascending order, the order a quote digests them in.
    public var indices: [Int] {
        (0..<bitmap.count * 8).filter { bitmap[$0 / 8] & (1 << ($0 % 8)) != 0 }
    }

    /// Reads the selection; `hash` is a TPMI_ALG_HASH (an unknown hash is an unknown selector)
    /// and sizeofSelect above PCR_SELECT_MAX is an invalid value, as Part 2 §10.6.2 gives
    /// TPM_RC_HASH and TPM_RC_VALUE for them.
    public init(from reader: inout TPMReader) throws(TPMMarshalError) {
        let hashStart = reader.offset
        hash = try TPMAlgorithmID(from: &reader)
        guard TPMHashAlgorithm(hash) != nil else { throw reader.error("TPMS_PCR_SELECTION.hash", selector: hash.rawValue, at: hashStart) }
        let start = reader.offset
        let size = try reader.u8("TPMS_PCR_SELECTION.sizeofSelect")
        guard size <= TPMLimits.maxPCRSelect else {
            throw .invalidValue(field: "TPMS_PCR_SELECTION.sizeofSelect", offset: start, value: UInt64(size))
        }
        bitmap = try reader.bytes(Int(size), "TPMS_PCR_SELECTION.pcrSelect")
    }

    public func marshal(into writer: inout TPMWriter) {
        writer.write(hash)
        writer.u8(UInt8(bitmap.count))
        writer.bytes(bitmap)
    }
}

/// TPML_PCR_SELECTION: a list of per-bank PCR selections (Part 2 §10.9.7).
public struct TPMLPCRSelection: Hashable, Sendable, TPMMarshalable {
    public var selections: [TPMSPCRSelection]

    public init(_ selections: [TPMSPCRSelection]) { self.selections = selections }

    public init(from reader: inout TPMReader) throws(TPMMarshalError) {
        selections = try reader.list("TPML_PCR_SELECTION", maximum: TPMLimits.maxHashCount) { r throws(TPMMarshalError) in
            try TPMSPCRSelection(from: &r)
        }
    }

    public func marshal(into writer: inout TPMWriter) {
        writer.u32(UInt32(selections.count))
        for selection in selections { writer.write(selection) }
    }
}

/// TPMT_HA: a digest tagged with its algorithm (Part 2 §10.3.2).
public struct TPMTHA: Hashable, Sendable, TPMMarshalable {
    public var algorithm: TPMHashAlgorithm
    public var digest: [UInt8]

    public init(algorithm: TPMHashAlgorithm, digest: [UInt8]) {
        self.algorithm = algorithm
        self.digest = digest
    }

    public init(from reader: inout TPMReader) throws(TPMMarshalError) {
        let start = reader.offset
        let id = try TPMAlgorithmID(from: &reader)
        guard let algorithm = TPMHashAlgorithm(id) else { throw reader.error("TPMT_HA.hashAlg", selector: id.rawValue, at: start) }
        self.algorithm = algorithm
        digest = try reader.bytes(algorithm.digestSize, "TPMT_HA.digest")
    }

    public func marshal(into writer: inout TPMWriter) {
        writer.write(algorithm.id)
        writer.bytes(digest)
    }
}

/// TPML_DIGEST_VALUES: one digest per bank, as PCR_Extend takes them (Part 2 §10.9.6).
public struct TPMLDigestValues: Hashable, Sendable, TPMMarshalable {
    public var digests: [TPMTHA]

    public init(_ digests: [TPMTHA]) { self.digests = digests }

    public init(from reader: inout TPMReader) throws(TPMMarshalError) {
        digests = try reader.list("TPML_DIGEST_VALUES", maximum: TPMLimits.maxHashCount) { r throws(TPMMarshalError) in
            try TPMTHA(from: &r)
        }
    }

    public func marshal(into writer: inout TPMWriter) {
        writer.u32(UInt32(digests.count))
        for digest in digests { writer.write(digest) }
    }
}

/// TPML_DIGEST: a list of TPM2B_DIGEST values (Part 2 §10.9.3), as PCR_Read returns them.
public struct TPMLDigest: Hashable, Sendable, TPMMarshalable {
    public var digests: [[UInt8]]

    public init(_ digests: [[UInt8]]) { self.digests = digests }

    public init(from reader: inout TPMReader) throws(TPMMarshalError) {
        digests = try reader.list("TPML_DIGEST", maximum: TPMLimits.maxDigestList) { r throws(TPMMarshalError) in
            try r.sized("TPM2B_DIGEST", maximum: TPMLimits.maxDigest)
        }
    }

    public func marshal(into writer: inout TPMWriter) {
        writer.u32(UInt32(digests.count))
        for digest in digests { writer.sized(digest) }
    }
}

extension TPMReader {
    /// A TPML_*: a UINT32 count (at most `maximum`) and that many elements.
    public mutating func list<T>(
        _ field: String, maximum: Int, _ element: (inout TPMReader) throws(TPMMarshalError) -> T
    ) throws(TPMMarshalError) -> [T] {
        let start = offset
        let count = Int(try u32(field + ".count"))
        guard count <= maximum else { throw .oversize(field: field + ".count", offset: start, size: count, maximum: maximum) }
        var items: [T] = []
        items.reserveCapacity(count)
        for _ in 0..<count { items.append(try element(&self)) }
        return items
    }
}
