/// Argon2 version 1.3 (RFC 9106), for LUKS2 keyslots of kdf type `argon2i` and `argon2id`.
/// Written out here because swift-crypto and the OpenSSL 3.0 of Debian 12 have no Argon2.
/// Lanes are filled one after another on the calling thread; the result does not depend on that.
public enum Argon2 {
    /// The variants LUKS2 uses (RFC 9106 §3.1, `y`).
    public enum Variant: String, Sendable, Equatable, Codable {
        case argon2i
        case argon2id

        var typeCode: UInt64 {
            switch self {
            case .argon2i: 1
            case .argon2id: 2
            }
        }
    }

    static let version: UInt32 = 0x13
    static let syncPoints = 4
    static let wordsPerBlock = 128
    /// The tag of RFC 9106 §3.2.
    /// - Parameters:
    ///   - memory: `m`, in KiB (1024-byte blocks), at least 8 × `parallelism`.
    ///   - iterations: `t`, passes over memory.
    ///   - parallelism: `p`, lanes.
    public static func hash(
        variant: Variant, password: [UInt8], salt: [UInt8], secret: [UInt8] = [], associatedData: [UInt8] = [],
        iterations: Int, memory: Int, parallelism: Int, tagLength: Int
    ) throws(LUKS2Error) -> [UInt8] {
        guard iterations >= 1, parallelism >= 1, parallelism < 1 << 24, memory >= 8 * parallelism, tagLength >= 4,
            salt.count >= 8
        else {
            throw .invalidArgument("Argon2 t=\(iterations) m=\(memory) p=\(parallelism) T=\(tagLength) salt \(salt.count)")
        }
        var h0Input = [UInt8]()
        for value in [parallelism, tagLength, memory, iterations, Int(version), Int(variant.typeCode)] {
            h0Input += le32(value)
        }
        for field in [password, salt, secret, associatedData] {
            h0Input += le32(field.count) + field
        }
        let h0 = BLAKE2b.hash(h0Input, outputByteCount: 64)
        let blocks = 4 * parallelism * (memory / (4 * parallelism))
        let matrix = Matrix(
            variant: variant, lanes: parallelism, laneLength: blocks / parallelism, passes: iterations)
        defer { matrix.deallocate() }
        for lane in 0..<parallelism {
            for column in 0..<2 {
                let bytes = variableHash(h0 + le32(column) + le32(lane), outputByteCount: 1024)
                matrix.load(bytes, into: matrix.laneLength * lane + column)
            }
        }
        matrix.fill()
        return variableHash(matrix.finalBlock(), outputByteCount: tagLength)
    }

    static func le32(_ value: Int) -> [UInt8] {
        withUnsafeBytes(of: UInt32(truncatingIfNeeded: value).littleEndian) { Array($0) }
    }

    /// H' (RFC 9106 §3.3), BLAKE2b stretched to any length.
    static func variableHash(_ input: [UInt8], outputByteCount: Int) -> [UInt8] {
        let prefixed = le32(outputByteCount) + input
        if outputByteCount <= 64 {
            return BLAKE2b.hash(prefixed, outputByteCount: outputByteCount)
        }
        let r = (outputByteCount + 31) / 32 - 2
        var v = BLAKE2b.hash(prefixed, outputByteCount: 64)
        var output = Array(v[0..<32])
        for _ in 1..<r {
            v = BLAKE2b.hash(v, outputByteCount: 64)
            output += v[0..<32]
        }
        output += BLAKE2b.hash(v, outputByteCount: outputByteCount - 32 * r)
        return output
    }

    /// The memory matrix B of RFC 9106 §3.2, `lanes` rows of `laneLength` 1024-byte blocks.
    struct Matrix {
        let variant: Variant
        let lanes: Int
        let laneLength: Int
        let passes: Int
        let memory: UnsafeMutablePointer<UInt64>
        var segmentLength: Int { laneLength / Argon2.syncPoints }

        init(variant: Variant, lanes: Int, laneLength: Int, passes: Int) {
            self.variant = variant
            self.lanes = lanes
            self.laneLength = laneLength
            self.passes = passes
            let words = lanes * laneLength * Argon2.wordsPerBlock
            memory = .allocate(capacity: words)
            memory.initialize(repeating: 0, count: words)
        }

        func deallocate() {
            memory.update(repeating: 0, count: lanes * laneLength * Argon2.wordsPerBlock)
            memory.deallocate()
        }

        func block(_ index: Int) -> UnsafeMutablePointer<UInt64> {
            memory + index * Argon2.wordsPerBlock
        }

        func load(_ bytes: [UInt8], into index: Int) {
            let target = block(index)
            for word in 0..<Argon2.wordsPerBlock {
                var value: UInt64 = 0
                for byte in 0..<8 { value |= UInt64(bytes[word * 8 + byte]) << (8 * byte) }
                target[word] = value
            }
        }

        /// XOR of the last block of every lane, as bytes (§3.2 step 7).
        func finalBlock() -> [UInt8] {
            var words = [UInt64](repeating: 0, count: Argon2.wordsPerBlock)
            for lane in 0..<lanes {
                let last = block(lane * laneLength + laneLength - 1)
                for word in 0..<Argon2.wordsPerBlock { words[word] ^= last[word] }
            }
            return words.flatMap { word in (0..<8).map { UInt8(truncatingIfNeeded: word >> (8 * $0)) } }
        }

        func fill() {
            let scratch = UnsafeMutablePointer<UInt64>.allocate(capacity: 5 * Argon2.wordsPerBlock)
            defer { scratch.deallocate() }
            for pass in 0..<passes {
                for slice in 0..<Argon2.syncPoints {
                    for lane in 0..<lanes {
                        fillSegment(pass: pass, slice: slice, lane: lane, scratch: scratch)
                    }
                }
            }
        }

        /// One segment (§3.4): data-independent addressing for Argon2i, and for Argon2id in the first
        /// half of the first pass; otherwise the first word of the previous block picks the reference.
        func fillSegment(pass: Int, slice: Int, lane: Int, scratch: UnsafeMutablePointer<UInt64>) {
            let independent = variant == .argon2i || (pass == 0 && slice < Argon2.syncPoints / 2)
            let addresses = scratch
            let input = scratch + Argon2.wordsPerBlock
            let zero = scratch + 2 * Argon2.wordsPerBlock
            let work = scratch + 3 * Argon2.wordsPerBlock
            zero.initialize(repeating: 0, count: Argon2.wordsPerBlock)
            if independent {
                input.initialize(repeating: 0, count: Argon2.wordsPerBlock)
                input[0] = UInt64(pass)
                input[1] = UInt64(lane)
                input[2] = UInt64(slice)
                input[3] = UInt64(lanes * laneLength)
                input[4] = UInt64(passes)
                input[5] = variant.typeCode
            }
            func nextAddresses() {
                input[6] &+= 1
                compress(zero, input, into: addresses, xor: false, work: work)
                compress(zero, addresses, into: addresses, xor: false, work: work)
            }
            let start = pass == 0 && slice == 0 ? 2 : 0
            if independent && start != 0 { nextAddresses() }
            for index in start..<segmentLength {
                if independent && index % Argon2.wordsPerBlock == 0 { nextAddresses() }
                let column = slice * segmentLength + index
                let current = lane * laneLength + column
                let previous = column == 0 ? current + laneLength - 1 : current - 1
                let pseudoRandom = independent ? addresses[index % Argon2.wordsPerBlock] : block(previous)[0]
                let referenceLane = pass == 0 && slice == 0 ? lane : Int((pseudoRandom >> 32) % UInt64(lanes))
                let referenceColumn = referenceIndex(
                    pass: pass, slice: slice, index: index, pseudoRandom: pseudoRandom & 0xFFFF_FFFF,
                    sameLane: referenceLane == lane)
                compress(
                    block(previous), block(referenceLane * laneLength + referenceColumn), into: block(current),
                    xor: pass > 0, work: work)
            }
        }

        /// The index mapping of §3.4.2: which block of the reference lane this block depends on.
        func referenceIndex(pass: Int, slice: Int, index: Int, pseudoRandom: UInt64, sameLane: Bool) -> Int {
            let earlierInSegment = sameLane ? index - 1 : (index == 0 ? -1 : 0)
            let areaSize =
                pass == 0 ? slice * segmentLength + earlierInSegment : laneLength - segmentLength + earlierInSegment
            let x = (pseudoRandom &* pseudoRandom) >> 32
            let y = (UInt64(areaSize) &* x) >> 32
            let relative = UInt64(areaSize) - 1 - y
            let startPosition = pass == 0 || slice == Argon2.syncPoints - 1 ? 0 : (slice + 1) * segmentLength
            return (startPosition + Int(relative)) % laneLength
        }

        /// The compression function G (§3.5): `output = P(X ⊕ Y) ⊕ (X ⊕ Y)`, XORed into the old
        /// `output` when `xor` (passes after the first, version 1.3).
        func compress(
            _ x: UnsafeMutablePointer<UInt64>, _ y: UnsafeMutablePointer<UInt64>, into output: UnsafeMutablePointer<UInt64>,
            xor: Bool, work r: UnsafeMutablePointer<UInt64>
        ) {
            let keep = r + Argon2.wordsPerBlock
            for word in 0..<Argon2.wordsPerBlock { r[word] = x[word] ^ y[word] }
            for word in 0..<Argon2.wordsPerBlock { keep[word] = xor ? r[word] ^ output[word] : r[word] }
            for row in 0..<8 { permute(r + 16 * row, pairStride: 2) }
            for column in 0..<8 { permute(r + 2 * column, pairStride: 16) }
            for word in 0..<Argon2.wordsPerBlock { output[word] = keep[word] ^ r[word] }
        }

        /// The permutation P (§3.6) on the eight 16-byte registers of a block seen as 8×8 registers:
        /// one row (registers adjacent, `pairStride` 2) or one column (`pairStride` 16 words apart),
        /// starting at `v`.
        func permute(_ v: UnsafeMutablePointer<UInt64>, pairStride: Int) {
            let s = pairStride
            mix(v, 0, 2 * s, 4 * s, 6 * s)
            mix(v, 1, 2 * s + 1, 4 * s + 1, 6 * s + 1)
            mix(v, s, 3 * s, 5 * s, 7 * s)
            mix(v, s + 1, 3 * s + 1, 5 * s + 1, 7 * s + 1)
            mix(v, 0, 2 * s + 1, 5 * s, 7 * s + 1)
            mix(v, 1, 3 * s, 5 * s + 1, 6 * s)
            mix(v, s, 3 * s + 1, 4 * s, 6 * s + 1)
            mix(v, s + 1, 2 * s, 4 * s + 1, 7 * s)
        }

        /// GB (§3.6): BLAKE2b's G with the additions replaced by `a + b + 2·lo32(a)·lo32(b)`.
        @inline(__always)
        func mix(_ v: UnsafeMutablePointer<UInt64>, _ a: Int, _ b: Int, _ c: Int, _ d: Int) {
            v[a] = v[a] &+ v[b] &+ 2 &* (v[a] & 0xFFFF_FFFF) &* (v[b] & 0xFFFF_FFFF)
            v[d] = (v[d] ^ v[a]).rotatedRight(32)
            v[c] = v[c] &+ v[d] &+ 2 &* (v[c] & 0xFFFF_FFFF) &* (v[d] & 0xFFFF_FFFF)
            v[b] = (v[b] ^ v[c]).rotatedRight(24)
            v[a] = v[a] &+ v[b] &+ 2 &* (v[a] & 0xFFFF_FFFF) &* (v[b] & 0xFFFF_FFFF)
            v[d] = (v[d] ^ v[a]).rotatedRight(16)
            v[c] = v[c] &+ v[d] &+ 2 &* (v[c] & 0xFFFF_FFFF) &* (v[d] & 0xFFFF_FFFF)
            v[b] = (v[b] ^ v[c]).rotatedRight(63)
        }
    }
}
