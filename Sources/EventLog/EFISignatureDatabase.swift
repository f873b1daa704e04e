extension EFISignatureList {
    /// Decodes the contents of a signature database variable such as db or dbx: a sequence of
    /// EFI_SIGNATURE_LIST (UEFI 2.10 §32.4.1), e.g. from efivarfs without its 4 attribute bytes or
    /// from `efi-readvar -o`. Errors report event 0 and offsets within `bytes`.
    public static func decode(_ bytes: [UInt8]) throws(EventLogError) -> [EFISignatureList] {
        var reader = LittleEndianReader(bytes[...], event: 0)
        var lists: [EFISignatureList] = []
        while !reader.isAtEnd {
            lists.append(try EFISignatureList(&reader))
        }
        return lists
    }
}
