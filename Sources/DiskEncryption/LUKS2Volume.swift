import Crypto
import Foundation

/// How a new keyslot derives its key from a passphrase (§3.2.2).
public enum LUKS2KDFParameters: Sendable, Equatable {
    case pbkdf2(iterations: Int, hash: String = "sha256")
    /// `memory` in KiB, `parallelism` lanes.
    case argon2id(iterations: Int, memory: Int, parallelism: Int)
}

/// A LUKS2 volume on a file or block device: header access, keyslot management, and the volume
/// key's digest. Data sectors are read and written through ``LUKS2DataSegment``.
public struct LUKS2Volume: Sendable {
    /// Where the header copies and keyslots are.
    public let device: LUKS2Device
    /// Where the data segments are: `device` itself, or a separate device when the header is
    /// detached (`cryptsetup --header`).
    public let dataDevice: LUKS2Device
    public private(set) var header: LUKS2Header

    /// The only cipher supported, for keyslot areas and data segments.
    public static let cipher = "aes-xts-plain64"
    /// Keyslot areas are encrypted in 512-byte sectors numbered from the area's start.
    static let keyslotSectorSize = 512
    static let stripes = 4000

    /// Opens the volume at `path` and reads its header; with `dataPath`, the header at `path` is
    /// detached and the data segments are on `dataPath`.
    public init(path: String, dataPath: String? = nil, writable: Bool = false) throws(LUKS2Error) {
        device = try LUKS2Device(path: path, writable: writable)
        dataDevice = try dataPath.map { path throws(LUKS2Error) in try LUKS2Device(path: path, writable: writable) } ?? device
        header = try LUKS2Header.read(from: device)
        if let mandatory = header.metadata.config.requirements?.mandatory, !mandatory.isEmpty {
            throw .unsupported("mandatory requirements \(mandatory)")
        }
    }

    // MARK: Unlocking

    /// A recovered volume key and the keyslot that gave it.
    public struct Unlocked: Sendable {
        public let volumeKey: SymmetricKey
        public let keyslot: Int
    }

    /// Recovers the volume key with `passphrase`, trying `keyslot` or every keyslot by priority
    /// (high, then normal; `priority` 0 is only tried when asked for by id). A keyslot that cannot
    /// be tried (unsupported cipher, unreadable area) does not stop the others; its error is thrown
    /// if no keyslot opens.
    public func unlock(passphrase: [UInt8], keyslot: Int? = nil) throws(LUKS2Error) -> Unlocked {
        let candidates: [Int]
        if let keyslot {
            guard header.metadata.keyslots[String(keyslot)] != nil else { throw .noSuchKeyslot(keyslot) }
            candidates = [keyslot]
        } else {
            candidates = header.metadata.keyslots
                .filter { ($0.value.priority ?? 1) > 0 }
                .sorted { (($1.value.priority ?? 1), Int($0.key) ?? 0) < (($0.value.priority ?? 1), Int($1.key) ?? 0) }
                .compactMap { Int($0.key) }
        }
        var failure = LUKS2Error.wrongPassphrase
        for id in candidates {
            do {
                let key = try keyslotKey(id, passphrase: passphrase)
                if try verify(volumeKey: key, keyslot: id) { return Unlocked(volumeKey: key, keyslot: id) }
            } catch {
                if keyslot != nil { throw error }
                failure = error
            }
        }
        throw failure
    }

    /// Recovers the volume key through token `id` (§3.4): `passphrase` is the token's handler,
    /// which turns the token (a kernel keyring description, a TPM-sealed secret, ...) into the
    /// passphrase of the keyslots the token names; those are tried in order.
    public func unlock(token id: Int, passphrase: (LUKS2Token) throws -> [UInt8]) throws(LUKS2Error) -> Unlocked {
        guard let token = header.metadata.tokens[String(id)] else { throw .invalidArgument("no token \(id)") }
        var secret: [UInt8]
        do {
            secret = try passphrase(token)
        } catch {
            throw .wrongPassphrase
        }
        defer { Self.wipe(&secret) }
        for keyslot in token.keyslots.compactMap({ Int($0) }) {
            if let unlocked = try? unlock(passphrase: secret, keyslot: keyslot) { return unlocked }
        }
        throw .wrongPassphrase
    }

    /// Rewrites the damaged header copy from the good one, keeping `seqid`, as cryptsetup does when
    /// it loads a header with one bad copy. Does nothing when both copies are whole.
    public mutating func repairHeader() throws(LUKS2Error) {
        guard let (copy, _) = header.damagedCopy else { return }
        let offset = copy == .primary ? header.primary.headerOffset : header.secondary.headerOffset
        try device.write(try header.serializeCopy(copy), at: offset)
        try device.synchronize()
        header = try LUKS2Header.read(from: device)
    }

    /// Decrypts keyslot `id` with `passphrase` and AF-merges it: the volume key if the passphrase
    /// is right, noise otherwise.
    func keyslotKey(_ id: Int, passphrase: [UInt8]) throws(LUKS2Error) -> SymmetricKey {
        guard let keyslot = header.metadata.keyslots[String(id)] else { throw .noSuchKeyslot(id) }
        try Self.checkSupported(keyslot)
        let hash = try LUKS2Hash(name: keyslot.af.hash)
        let areaKey = try Self.derive(keyslot.kdf, passphrase: passphrase, outputByteCount: keyslot.area.keySize)
        let materialSize = Self.roundUp(keyslot.keySize * keyslot.af.stripes, to: Self.keyslotSectorSize)
        guard UInt64(materialSize) <= keyslot.area.size else { throw .invalidMetadata("keyslot \(id) area too small") }
        var material = try device.read(at: keyslot.area.offset, count: materialSize)
        try AESXTS(key: areaKey).decrypt(&material, unitSize: Self.keyslotSectorSize, firstUnit: 0)
        var key = AntiForensicSplitter.merge(material, size: keyslot.keySize, stripes: keyslot.af.stripes, hash: hash)
        defer { Self.wipe(&material); Self.wipe(&key) }
        return SymmetricKey(data: key)
    }

    /// Whether `volumeKey` matches the digest bound to `keyslot` (or to the data segment):
    /// PBKDF2 of the key with the digest's salt and iterations (§3.5), compared in constant time.
    public func verify(volumeKey: SymmetricKey, keyslot: Int? = nil) throws(LUKS2Error) -> Bool {
        guard let digest = digest(forKeyslot: keyslot) else { throw .invalidMetadata("no digest for keyslot \(keyslot ?? -1)") }
        let computed = try Self.volumeKeyDigest(volumeKey, hash: digest.hash, salt: Array(digest.salt),
            iterations: digest.iterations, size: digest.digest.count)
        return constantTimeEqual(computed, digest.digest)
    }

    func digest(forKeyslot keyslot: Int?) -> LUKS2Digest? {
        header.metadata.digests.values.first { digest in
            guard digest.type == "pbkdf2" else { return false }
            if let keyslot { return digest.keyslots.contains(String(keyslot)) }
            return !digest.segments.isEmpty
        }
    }

    static func volumeKeyDigest(_ key: SymmetricKey, hash: String, salt: [UInt8], iterations: Int, size: Int) throws(LUKS2Error) -> [UInt8] {
        var bytes = key.withUnsafeBytes { Array($0) }
        defer { wipe(&bytes) }
        let derived = try LUKS2Hash(name: hash).pbkdf2(password: bytes, salt: salt, iterations: iterations, outputByteCount: size)
        return derived.withUnsafeBytes { Array($0) }
    }

    static func derive(_ kdf: LUKS2KDF, passphrase: [UInt8], outputByteCount: Int) throws(LUKS2Error) -> SymmetricKey {
        switch kdf {
        case .pbkdf2(let hash, let iterations, let salt):
            return try LUKS2Hash(name: hash).pbkdf2(
                password: passphrase, salt: Array(salt), iterations: iterations, outputByteCount: outputByteCount)
        case .argon2(let variant, let time, let memory, let cpus, let salt):
            var tag = try Argon2.hash(
                variant: variant, password: passphrase, salt: Array(salt), iterations: time, memory: memory,
                parallelism: cpus, tagLength: outputByteCount)
            defer { wipe(&tag) }
            return SymmetricKey(data: tag)
        }
    }

    static func checkSupported(_ keyslot: LUKS2Keyslot) throws(LUKS2Error) {
        guard keyslot.type == "luks2" else { throw .unsupported("keyslot type \(keyslot.type)") }
        guard keyslot.af.type == "luks1", keyslot.af.stripes > 0 else { throw .unsupported("af type \(keyslot.af.type)") }
        guard keyslot.area.type == "raw", keyslot.area.encryption == cipher else {
            throw .unsupported("keyslot area \(keyslot.area.type) \(keyslot.area.encryption)")
        }
    }

    // MARK: Keyslot management

    /// Adds a keyslot holding `volumeKey` under `passphrase`, in the first free id and free space of
    /// the keyslots area, and binds it to the segment digest. Returns the new keyslot's id.
    @discardableResult
    public mutating func addKeyslot(
        passphrase: [UInt8], volumeKey: SymmetricKey, kdf parameters: LUKS2KDFParameters, id requested: Int? = nil
    ) throws(LUKS2Error) -> Int {
        guard try verify(volumeKey: volumeKey) else { throw .invalidArgument("the volume key does not match the digest") }
        let metadata = header.metadata
        guard let id = requested ?? (0..<LUKS2Metadata.maximumKeyslots).first(where: { metadata.keyslots[String($0)] == nil }) else {
            throw .noFreeKeyslot
        }
        guard (0..<LUKS2Metadata.maximumKeyslots).contains(id), metadata.keyslots[String(id)] == nil else { throw .invalidArgument("keyslot \(id) is in use") }
        let keySize = volumeKey.bitCount / 8
        let areaSize = UInt64(Self.roundUp(keySize * Self.stripes, to: 4096))
        let offset = try freeArea(size: areaSize)
        let kdf: LUKS2KDF =
            switch parameters {
            case .pbkdf2(let iterations, let hash): .pbkdf2(hash: hash, iterations: iterations, salt: Data(randomBytes(32)))
            case .argon2id(let iterations, let memory, let parallelism):
                .argon2(.argon2id, time: iterations, memory: memory, cpus: parallelism, salt: Data(randomBytes(32)))
            }
        let keyslot = LUKS2Keyslot(
            type: "luks2", keySize: keySize, af: .init(type: "luks1", stripes: Self.stripes, hash: "sha256"),
            area: .init(type: "raw", offset: offset, size: areaSize, encryption: Self.cipher, keySize: keySize),
            kdf: kdf, priority: nil)
        let areaKey = try Self.derive(kdf, passphrase: passphrase, outputByteCount: keySize)
        var key = volumeKey.withUnsafeBytes { Array($0) }
        var material = AntiForensicSplitter.split(key, stripes: Self.stripes, hash: .sha256)
        defer { Self.wipe(&key); Self.wipe(&material) }
        material += [UInt8](repeating: 0, count: Self.roundUp(material.count, to: Self.keyslotSectorSize) - material.count)
        try AESXTS(key: areaKey).encrypt(&material, unitSize: Self.keyslotSectorSize, firstUnit: 0)
        try device.write(material + randomBytes(Int(areaSize) - material.count), at: offset)
        try device.synchronize()
        header.metadata.keyslots[String(id)] = keyslot
        guard let digestID = header.metadata.digests.first(where: { !$0.value.segments.isEmpty })?.key else {
            throw .invalidMetadata("no segment digest")
        }
        header.metadata.digests[digestID]?.keyslots.append(String(id))
        header.metadata.digests[digestID]?.keyslots.sort { (Int($0) ?? 0) < (Int($1) ?? 0) }
        try header.write(to: device)
        return id
    }

    /// Removes keyslot `id`: the metadata first, then the area is overwritten with random bytes.
    public mutating func removeKeyslot(_ id: Int) throws(LUKS2Error) {
        guard let keyslot = header.metadata.keyslots[String(id)] else { throw .noSuchKeyslot(id) }
        header.metadata.removeKeyslot(String(id))
        try header.write(to: device)
        try device.write(randomBytes(Int(keyslot.area.size)), at: keyslot.area.offset)
        try device.synchronize()
    }

    /// Replaces the passphrase of keyslot `id`: a new keyslot is written first and the old one
    /// removed after, so a crash leaves at least one of the two passphrases working. Returns the
    /// new keyslot's id.
    @discardableResult
    public mutating func changePassphrase(
        keyslot id: Int, from old: [UInt8], to new: [UInt8], kdf: LUKS2KDFParameters
    ) throws(LUKS2Error) -> Int {
        let unlocked = try unlock(passphrase: old, keyslot: id)
        let added = try addKeyslot(passphrase: new, volumeKey: unlocked.volumeKey, kdf: kdf)
        try removeKeyslot(id)
        return added
    }

    /// Stores `token` under the first free id (or `id`) and returns the id. The keyslots it names
    /// must exist (§3.4).
    @discardableResult
    public mutating func addToken(_ token: LUKS2Token, id requested: Int? = nil) throws(LUKS2Error) -> Int {
        let tokens = header.metadata.tokens
        guard let id = requested ?? (0..<LUKS2Metadata.maximumKeyslots).first(where: { tokens[String($0)] == nil }),
            (0..<LUKS2Metadata.maximumKeyslots).contains(id), tokens[String(id)] == nil
        else { throw .invalidArgument("no free token id") }
        guard token.keyslots.allSatisfy({ header.metadata.keyslots[$0] != nil }) else {
            throw .invalidArgument("token names a keyslot that does not exist")
        }
        header.metadata.tokens[String(id)] = token
        try header.write(to: device)
        return id
    }

    public mutating func removeToken(_ id: Int) throws(LUKS2Error) {
        guard header.metadata.tokens[String(id)] != nil else { throw .invalidArgument("no token \(id)") }
        header.metadata.removeToken(String(id))
        try header.write(to: device)
    }

    /// The lowest offset in the keyslots area where `size` bytes overlap no keyslot's area.
    func freeArea(size: UInt64) throws(LUKS2Error) -> UInt64 {
        let start = 2 * header.headerSize
        let end = start + header.metadata.config.keyslotsSize
        let used = header.metadata.keyslots.values.map { ($0.area.offset, $0.area.offset + $0.area.size) }.sorted { $0.0 < $1.0 }
        var candidate = start
        for (lower, upper) in used where candidate + size > lower && candidate < upper {
            candidate = upper
        }
        guard candidate + size <= end else { throw .keyslotsAreaFull }
        return candidate
    }

    // MARK: Formatting

    /// Options of ``format(path:passphrase:options:)``. Layout, cipher, key size and Argon2id are
    /// cryptsetup 2.6 defaults; the digest iterations are fixed rather than benchmarked.
    public struct FormatOptions: Sendable {
        public var kdf: LUKS2KDFParameters
        public var keySize: Int
        public var sectorSize: Int
        public var digestIterations: Int
        public var headerSize: UInt64
        /// Where the data segment starts; header copies and keyslots area lie before it.
        public var dataOffset: UInt64
        public var label: String
        public var uuid: String

        public init(
            kdf: LUKS2KDFParameters = .argon2id(iterations: 4, memory: 1_048_576, parallelism: 4), keySize: Int = 64,
            sectorSize: Int = 4096, digestIterations: Int = 100_000, headerSize: UInt64 = 16384,
            dataOffset: UInt64 = 16 << 20, label: String = "", uuid: String = UUID().uuidString.lowercased()
        ) {
            self.kdf = kdf
            self.keySize = keySize
            self.sectorSize = sectorSize
            self.digestIterations = digestIterations
            self.headerSize = headerSize
            self.dataOffset = dataOffset
            self.label = label
            self.uuid = uuid
        }
    }

    /// Formats `path` as a LUKS2 volume with a random volume key in keyslot 0. Header copies and
    /// the keyslots area are zeroed first; the data area is left as it is.
    public static func format(
        path: String, passphrase: [UInt8], options: FormatOptions = FormatOptions()
    ) throws(LUKS2Error) -> (volume: LUKS2Volume, volumeKey: SymmetricKey) {
        guard options.keySize == 32 || options.keySize == 64 else { throw .unsupported("key size \(options.keySize)") }
        guard options.sectorSize == 512 || options.sectorSize == 4096 else { throw .unsupported("sector size \(options.sectorSize)") }
        guard LUKS2BinaryHeader.allowedHeaderSizes.contains(options.headerSize),
            options.dataOffset > 2 * options.headerSize, options.dataOffset % 4096 == 0
        else { throw .invalidArgument("header size \(options.headerSize), data offset \(options.dataOffset)") }
        let device = try LUKS2Device(path: path, writable: true)
        guard try device.size() >= options.dataOffset else { throw .invalidArgument("\(path) is smaller than the data offset") }
        let volumeKey = SymmetricKey(size: .init(bitCount: options.keySize * 8))
        let digestSalt = randomBytes(32)
        let digest = LUKS2Digest(
            type: "pbkdf2", keyslots: [], segments: ["0"], hash: "sha256", iterations: options.digestIterations,
            salt: Data(digestSalt),
            digest: Data(try volumeKeyDigest(volumeKey, hash: "sha256", salt: digestSalt, iterations: options.digestIterations, size: 32)))
        let metadata = LUKS2Metadata(
            keyslots: [:],
            segments: ["0": LUKS2Segment(offset: options.dataOffset, encryption: cipher, sectorSize: options.sectorSize)],
            digests: ["0": digest],
            config: LUKS2Config(
                jsonSize: options.headerSize - UInt64(LUKS2BinaryHeader.size),
                keyslotsSize: options.dataOffset - 2 * options.headerSize))
        let primary = LUKS2BinaryHeader(
            copy: .primary, headerSize: options.headerSize, sequenceID: 0, label: options.label, salt: randomBytes(64),
            uuid: options.uuid, headerOffset: 0)
        var header = LUKS2Header(primary: primary, secondary: primary.twin(.secondary), metadata: metadata)
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        for offset in stride(from: UInt64(0), to: options.dataOffset, by: zeros.count) {
            try device.write(Array(zeros.prefix(Int(min(UInt64(zeros.count), options.dataOffset - offset)))), at: offset)
        }
        try header.write(to: device)
        var volume = try LUKS2Volume(path: path, writable: true)
        try volume.addKeyslot(passphrase: passphrase, volumeKey: volumeKey, kdf: options.kdf)
        return (volume, volumeKey)
    }

    static func roundUp(_ value: Int, to multiple: Int) -> Int {
        (value + multiple - 1) / multiple * multiple
    }

    static func wipe(_ bytes: inout [UInt8]) {
        for index in bytes.indices { bytes[index] = 0 }
    }
}

/// The data segment of an unlocked volume: sectors encrypted with `aes-xts-plain64`, the IV of
/// each being its offset in the segment counted in 512-byte units plus `iv_tweak`, whatever the
/// segment's `sector_size`: cryptsetup activates LUKS2 without dm-crypt's `iv_large_sectors`, so
/// 4096-byte sector `n` has IV `8n + iv_tweak`.
public struct LUKS2DataSegment: Sendable {
    /// The device holding the segment (the volume's data device).
    public let device: LUKS2Device
    public let segment: LUKS2Segment
    private let cipher: AESXTS

    public init(volume: LUKS2Volume, volumeKey: SymmetricKey, segment id: String = "0") throws(LUKS2Error) {
        guard let segment = volume.header.metadata.segments[id], segment.type == "crypt" else {
            throw .invalidMetadata("no crypt segment \(id)")
        }
        guard segment.encryption == LUKS2Volume.cipher else { throw .unsupported("segment cipher \(segment.encryption)") }
        guard segment.sectorSize == 512 || segment.sectorSize == 4096 else { throw .unsupported("sector size \(segment.sectorSize)") }
        guard try volume.verify(volumeKey: volumeKey) else { throw .invalidArgument("the volume key does not match the digest") }
        device = volume.dataDevice
        self.segment = segment
        cipher = try AESXTS(key: volumeKey)
    }

    public var sectorSize: Int { segment.sectorSize }

    /// Number of whole sectors in the segment.
    public func sectorCount() throws(LUKS2Error) -> UInt64 {
        switch segment.size {
        case .bytes(let bytes): return bytes / UInt64(sectorSize)
        case .dynamic:
            let size = try device.size()
            return size > segment.offset ? (size - segment.offset) / UInt64(sectorSize) : 0
        }
    }

    /// Reads and decrypts `count` sectors starting at `sector`.
    public func read(sector: UInt64, count: Int) throws(LUKS2Error) -> [UInt8] {
        try checkRange(sector: sector, count: count)
        var data = try device.read(at: segment.offset + sector * UInt64(sectorSize), count: count * sectorSize)
        try cipher.decrypt(&data, unitSize: sectorSize, firstUnit: iv(sector), unitStep: ivStep)
        return data
    }

    /// Encrypts and writes `data`, a whole number of sectors, starting at `sector`.
    public func write(_ data: [UInt8], sector: UInt64) throws(LUKS2Error) {
        guard data.count % sectorSize == 0 else { throw .invalidArgument("\(data.count) bytes are not whole sectors") }
        try checkRange(sector: sector, count: data.count / sectorSize)
        var encrypted = data
        try cipher.encrypt(&encrypted, unitSize: sectorSize, firstUnit: iv(sector), unitStep: ivStep)
        try device.write(encrypted, at: segment.offset + sector * UInt64(sectorSize))
    }

    /// Overwrites every sector of the segment with encrypted zeros, `chunkBytes` at a time (a whole
    /// number of sectors), so the data area holds neither plaintext nor ciphertext of an earlier
    /// key, as writing zeros through the opened dm-crypt device does. `progress` is called after
    /// each chunk with the bytes written and the segment's size.
    public func wipe(chunkBytes: Int = 4 << 20, progress: (_ done: UInt64, _ total: UInt64) -> Void = { _, _ in }) throws(LUKS2Error) {
        guard chunkBytes >= sectorSize, chunkBytes % sectorSize == 0 else { throw .invalidArgument("chunks of \(chunkBytes) bytes are not whole sectors") }
        let sectors = try sectorCount()
        let total = sectors * UInt64(sectorSize)
        let perChunk = UInt64(chunkBytes / sectorSize)
        var chunk = [UInt8](repeating: 0, count: chunkBytes)
        var sector: UInt64 = 0
        while sector < sectors {
            let count = Int(min(perChunk, sectors - sector))
            if count * sectorSize != chunk.count { chunk = [UInt8](repeating: 0, count: count * sectorSize) }
            chunk.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
            try cipher.encrypt(&chunk, unitSize: sectorSize, firstUnit: iv(sector), unitStep: ivStep)
            try device.write(chunk, at: segment.offset + sector * UInt64(sectorSize))
            sector += UInt64(count)
            progress(sector * UInt64(sectorSize), total)
        }
        try device.synchronize()
    }

    /// IVs advance by this much per sector: the sector size in 512-byte units.
    private var ivStep: UInt64 { UInt64(sectorSize / 512) }

    private func iv(_ sector: UInt64) -> UInt64 {
        sector &* ivStep &+ segment.ivTweak
    }

    private func checkRange(sector: UInt64, count: Int) throws(LUKS2Error) {
        guard count >= 0, sector + UInt64(count) <= (try sectorCount()) else {
            throw .invalidArgument("sectors \(sector)..<\(sector + UInt64(count)) are outside the segment")
        }
    }
}
