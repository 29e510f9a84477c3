"""Operations commands: failed syncs, replay, resync and history replay."""
