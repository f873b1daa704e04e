extension LUKS2Metadata {
    /// Most keyslots and tokens a LUKS2 header holds (§3.2, §3.4).
    public static let maximumKeyslots = 32

    /// Checks the rules of §3 that tie the objects together and to the binary header; throws
    /// ``LUKS2Error/invalidMetadata(_:)`` naming the first rule broken.
    public func validate(headerSize: UInt64) throws(LUKS2Error) {
        func ids(_ keys: some Collection<String>, _ kind: String, limit: Int? = nil) throws(LUKS2Error) -> Set<String> {
            for key in keys {
                guard let id = Int(key), id >= 0, String(id) == key, id < (limit ?? Int.max) else {
                    throw .invalidMetadata("\(kind) id \"\(key)\"")
                }
            }
            return Set(keys)
        }
        let keyslotIDs = try ids(keyslots.keys, "keyslot", limit: Self.maximumKeyslots)
        let segmentIDs = try ids(segments.keys, "segment")
        _ = try ids(digests.keys, "digest")
        _ = try ids(tokens.keys, "token", limit: Self.maximumKeyslots)
        guard config.keyslotsSize % 4096 == 0 else { throw .invalidMetadata("keyslots_size \(config.keyslotsSize) is not 4096-aligned") }
        let areaStart = 2 * headerSize
        let areaEnd = areaStart + config.keyslotsSize
        let areas = keyslots.sorted { $0.value.area.offset < $1.value.area.offset }
        for (index, (id, keyslot)) in areas.enumerated() {
            let area = keyslot.area
            guard area.offset >= areaStart, area.offset <= areaEnd, area.size <= areaEnd - area.offset, area.offset % 4096 == 0 else {
                throw .invalidMetadata("keyslot \(id) area \(area.offset)+\(area.size) is outside the keyslots area")
            }
            guard keyslot.keySize > 0, area.keySize > 0, keyslot.af.stripes > 0,
                UInt64(keyslot.keySize) * UInt64(keyslot.af.stripes) <= area.size
            else { throw .invalidMetadata("keyslot \(id) does not fit its area") }
            if index + 1 < areas.count, area.offset + area.size > areas[index + 1].value.area.offset {
                throw .invalidMetadata("keyslot \(id) area overlaps keyslot \(areas[index + 1].key)")
            }
        }
        for (id, segment) in segments {
            guard [512, 1024, 2048, 4096].contains(segment.sectorSize), segment.offset % UInt64(segment.sectorSize) == 0 else {
                throw .invalidMetadata("segment \(id) sector size \(segment.sectorSize) or offset \(segment.offset)")
            }
        }
        for (id, digest) in digests {
            guard Set(digest.keyslots).isSubset(of: keyslotIDs), Set(digest.segments).isSubset(of: segmentIDs) else {
                throw .invalidMetadata("digest \(id) names a keyslot or segment that does not exist")
            }
        }
        for (id, token) in tokens where !Set(token.keyslots).isSubset(of: keyslotIDs) {
            throw .invalidMetadata("token \(id) names a keyslot that does not exist")
        }
    }
}
