/**
 * Opens an Iceberg table from one metadata file (PyIceberg's `StaticTable.from_metadata`):
 * the tables PyIceberg's SqlCatalog writes do not follow the Hadoop layout FilesystemCatalog
 * reads (`<loc>/metadata/00003-<uuid>.metadata.json`, no version hint).
 *
 * A thin wrapper over @kice/iceberg's public `openTable`: commits through the returned table
 * write the next `NNNNN-<uuid>.metadata.json` beside the current one (single writer).
 */
import { type FileIO, LocalFileIO, openTable, type Table } from '@kice/iceberg';

/** The table whose current metadata is the file at `metadataLocation` (path or file:// URI). */
export function openTableAt(
  metadataLocation: string,
  io: FileIO = new LocalFileIO(),
): Promise<Table> {
  return openTable(io, metadataLocation);
}
